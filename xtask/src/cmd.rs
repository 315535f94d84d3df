//! Running other programs, with errors that say what was run, where, and how it ended.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub type Error = Box<dyn std::error::Error>;
pub type Result<T = ()> = std::result::Result<T, Error>;

/// The workspace root, whatever directory `cargo xtask` was started from.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_owned()
}

/// `cargo` run from the workspace root: the same cargo that started xtask when there is one.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(repo_root());
    command
}

/// `-jN` for cargo: CARGO_BUILD_JOBS if set, else 2, the cores of the build machines;
/// more jobs than cores only adds memory pressure there.
pub fn jobs_flag() -> String {
    let jobs = std::env::var("CARGO_BUILD_JOBS").unwrap_or_else(|_| "2".to_owned());
    format!("-j{jobs}")
}

/// Runs a command with inherited output; fails unless it exits successfully.
pub fn run(command: &mut Command) -> Result {
    println!("$ {}", describe(command));
    let status = command
        .status()
        .map_err(|error| format!("could not start `{}`: {error}", describe(command)))?;
    if !status.success() {
        return Err(format!("`{}` failed ({status})", describe(command)).into());
    }
    Ok(())
}

/// Runs a command and returns its trimmed stdout; stderr goes to the terminal.
pub fn read(command: &mut Command) -> Result<String> {
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("could not start `{}`: {error}", describe(command)))?;
    if !output.status.success() {
        return Err(format!("`{}` failed ({})", describe(command), output.status).into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// True if the command starts and exits successfully; all its output is discarded.
pub fn succeeds(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

pub fn describe(command: &Command) -> String {
    // `cargo` reads better than the toolchain path in $CARGO and pastes the same.
    let program = command.get_program();
    let program = match Path::new(program).file_name() {
        Some(name) if name == "cargo" => name,
        _ => program,
    };
    std::iter::once(program)
        .chain(command.get_args())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Quotes a word only when a shell would need it, so printed commands can be pasted.
fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c));
    if plain {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The target directory cargo really uses (CARGO_TARGET_DIR, config, or `target/`).
pub fn target_dir() -> Result<PathBuf> {
    let metadata = read(cargo().args(["metadata", "--format-version", "1", "--no-deps"]))?;
    let metadata: serde_json::Value = serde_json::from_str(&metadata)
        .map_err(|error| format!("`cargo metadata` printed no JSON: {error}"))?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "`cargo metadata` gave no target_directory".into())
}

/// Takes `--flag` out of `args`; true if it was there.
pub fn take_flag(args: &mut Vec<String>, flag: &str) -> bool {
    let before = args.len();
    args.retain(|arg| arg != flag);
    args.len() != before
}

/// Takes `--option VALUE` or `--option=VALUE` out of `args`.
pub fn take_value(args: &mut Vec<String>, option: &str) -> Result<Option<String>> {
    let Some(index) = args
        .iter()
        .position(|arg| arg == option || arg.starts_with(&format!("{option}=")))
    else {
        return Ok(None);
    };
    let arg = args.remove(index);
    if let Some(value) = arg.strip_prefix(&format!("{option}=")) {
        return Ok(Some(value.to_owned()));
    }
    if index < args.len() {
        return Ok(Some(args.remove(index)));
    }
    Err(format!("{option} needs a value").into())
}

/// Fails on anything left after the known options were taken out.
pub fn reject_leftovers(args: &[String], usage: &str) -> Result {
    match args.first() {
        None => Ok(()),
        Some(unknown) => Err(format!("unexpected argument {unknown:?}\n\n{usage}").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_only_when_needed() {
        assert_eq!(quote(OsStr::new("--data-dir=/a/b")), "--data-dir=/a/b");
        assert_eq!(quote(OsStr::new("two words")), "'two words'");
        assert_eq!(quote(OsStr::new("it's")), r"'it'\''s'");
        assert_eq!(quote(OsStr::new("")), "''");
    }

    #[test]
    fn options_are_taken_out() {
        let mut args: Vec<String> = ["--fresh", "--listen", "0.0.0.0:80", "--x=1"]
            .map(String::from)
            .to_vec();
        assert!(take_flag(&mut args, "--fresh"));
        assert!(!take_flag(&mut args, "--fresh"));
        assert_eq!(
            take_value(&mut args, "--listen").unwrap().as_deref(),
            Some("0.0.0.0:80")
        );
        assert_eq!(take_value(&mut args, "--x").unwrap().as_deref(), Some("1"));
        assert!(args.is_empty());
        let mut dangling = vec!["--listen".to_owned()];
        assert!(take_value(&mut dangling, "--listen").is_err());
    }
}
