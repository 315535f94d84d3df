//! The Windows backend: the service control manager and local accounts through Windows
//! PowerShell 5.1 (present on every supported Windows), `ipconfig` and `taskkill`.
//!
//! PowerShell is a shell, so it is used the only safe way: each script is a constant,
//! passed as `-EncodedCommand` (base64 of UTF-16LE, so no quoting layer can alter it), and
//! every value it needs (service name, account name, password) arrives on stdin, read with
//! `[Console]::In.ReadLine()`. No value is ever pasted into script text, and the password
//! never appears on a command line (`net user NAME PASSWORD` would expose it to process
//! listings and command-line auditing, event 4688). Objects are selected with `-eq`
//! comparisons, never with `-Name` parameters that treat `*` and `?` as wildcards.
//!
//! Compiled and unit-tested on every platform; it has not run on Windows in this project's
//! CI yet.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{
    Ctx, Done, Execution, Executor, ExitStatus, LocalSecret, Outcome, Stopped, Verification,
    command, execute, generate_temporary_password, poll_until, require_success, skipped,
};
use crate::catalog::ActionParams;
use crate::execute::command::CmdOutput;
use crate::order::VerifiedOrder;

#[derive(Debug, Clone)]
pub struct WindowsExecutor {
    pub kill_grace: Duration,
}

impl Default for WindowsExecutor {
    fn default() -> Self {
        Self {
            kill_grace: Duration::from_secs(5),
        }
    }
}

impl Executor for WindowsExecutor {
    fn run(&self, order: &VerifiedOrder, timeout: Duration) -> Execution {
        execute(order, timeout, |ctx| match order.action() {
            ActionParams::ServiceRestart { name } => restart_service(ctx, name.as_str()),
            ActionParams::AccountResetPassword { username } => {
                reset_password(ctx, username.as_str())
            }
            ActionParams::PrintClearQueue { printer } => clear_queue(ctx, printer.as_str()),
            ActionParams::PrintRestartSpooler => restart_service(ctx, "Spooler"),
            ActionParams::NetworkFlushDns => {
                ctx.run_ok("ipconfig.exe", &["/flushdns"])?;
                Ok(Done::new(
                    "flushed the DNS client cache",
                    Verification::NotApplicable {
                        reason: "the cache refills from the hosts file at once: its size proves \
                                 nothing"
                            .into(),
                    },
                ))
            }
            ActionParams::DiskCleanTemp => {
                skipped("disk.clean_temp is not supported on Windows yet")
            }
            ActionParams::ProcessKill { pid } => kill_process(ctx, pid.get(), self.kill_grace),
            ActionParams::DiagnosticsCollect => {
                skipped("diagnostics are collected by the agent, not by an executor")
            }
        })
    }
}

pub(crate) const SERVICE_RESTART_PS: &str = r#"$ErrorActionPreference = 'Stop'
$name = [Console]::In.ReadLine()
$svc = Get-CimInstance -ClassName Win32_Service | Where-Object { $_.Name -eq $name }
if (-not $svc) { throw "no service named $name" }
Write-Output ('before=' + $svc.ProcessId)
$obj = Get-Service | Where-Object { $_.Name -eq $name }
Restart-Service -InputObject $obj -Force
$svc = Get-CimInstance -ClassName Win32_Service | Where-Object { $_.Name -eq $name }
Write-Output ('after=' + $svc.ProcessId)
Write-Output ('state=' + $svc.State)
"#;

pub(crate) const RESET_PASSWORD_PS: &str = r#"$ErrorActionPreference = 'Stop'
$name = [Console]::In.ReadLine()
$secure = ConvertTo-SecureString -String ([Console]::In.ReadLine()) -AsPlainText -Force
$user = Get-LocalUser | Where-Object { $_.Name -eq $name }
if (-not $user) { throw "no local account named $name" }
Set-LocalUser -InputObject $user -Password $secure
$adsi = [ADSI]('WinNT://' + $env:COMPUTERNAME + '/' + $user.Name + ',user')
$adsi.Put('PasswordExpired', 1)
$adsi.SetInfo()
$check = [ADSI]('WinNT://' + $env:COMPUTERNAME + '/' + $user.Name + ',user')
Write-Output ('expired=' + $check.PasswordExpired.Value)
"#;

pub(crate) const CLEAR_QUEUE_PS: &str = r#"$ErrorActionPreference = 'Stop'
$name = [Console]::In.ReadLine()
$printer = Get-Printer | Where-Object { $_.Name -eq $name }
if (-not $printer) { throw "no printer named $name" }
Get-PrintJob -PrinterObject $printer | Remove-PrintJob
Write-Output ('remaining=' + @(Get-PrintJob -PrinterObject $printer).Count)
"#;

/// `-EncodedCommand`'s format: base64 of the script in UTF-16LE.
pub(crate) fn encode_command(script: &str) -> String {
    let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    STANDARD.encode(bytes)
}

/// Runs a constant script with `lines` on its stdin.
fn powershell(
    ctx: &mut Ctx,
    script_name: &str,
    script: &str,
    lines: &[&str],
    stdin_note: &str,
) -> Result<CmdOutput, ExitStatus> {
    let path = command::find_program("powershell.exe").ok_or_else(|| ExitStatus::Failed {
        code: None,
        message: "Windows PowerShell is not installed".into(),
    })?;
    let encoded = encode_command(script);
    let mut input = lines.join("\r\n").into_bytes();
    input.extend_from_slice(b"\r\n");
    let out = ctx.run_path(
        &path,
        &format!("powershell <{script_name} script>"),
        &[
            "-NoLogo",
            "-NoProfile",
            "-NonInteractive",
            "-EncodedCommand",
            &encoded,
        ],
        Some(&input),
        Some(stdin_note),
    );
    input.fill(0);
    require_success(out, "powershell")
}

/// The value of a `key=value` output line.
pub(crate) fn output_value<'a>(output: &'a str, key: &str) -> Option<&'a str> {
    output
        .lines()
        .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
}

fn restart_service(ctx: &mut Ctx, name: &str) -> Outcome {
    let out = powershell(
        ctx,
        "service-restart",
        SERVICE_RESTART_PS,
        &[name],
        "service name on stdin",
    )?;
    let text = out.stdout_text();
    let pid = |k| {
        output_value(&text, k)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let (before, after) = (pid("before"), pid("after"));
    let state = output_value(&text, "state").unwrap_or("");
    let verification = if state != "Running" || after == 0 {
        Verification::Failed {
            reason: format!("{name} is not running after the restart (state {state:?})"),
        }
    } else if after == before {
        Verification::Failed {
            reason: format!(
                "{name} still runs as PID {after} (a service sharing its host process cannot \
                 show a new PID)"
            ),
        }
    } else {
        Verification::Verified {
            detail: format!("{name} is running with new PID {after} (was {before})"),
        }
    };
    Ok(Done::new(format!("restarted service {name}"), verification))
}

fn reset_password(ctx: &mut Ctx, user: &str) -> Outcome {
    let password = generate_temporary_password();
    ctx.log.secret(&password);
    let out = powershell(
        ctx,
        "reset-password",
        RESET_PASSWORD_PS,
        &[user, &password],
        "account name and password on stdin, not shown",
    );
    let out = match out {
        Ok(out) => out,
        // The script may have failed after Set-LocalUser: then the user needs the password.
        // We cannot tell from here, so it is handed over either way; it is useless if unset.
        Err(exit) => {
            return Err(Stopped {
                exit,
                secret: Some(LocalSecret::new(user, password)),
            });
        }
    };
    let verification = match output_value(&out.stdout_text(), "expired") {
        Some("1") => Verification::Verified {
            detail: format!("{user} must change the password at next logon"),
        },
        other => Verification::Failed {
            reason: format!("PasswordExpired reads {other:?}, not 1"),
        },
    };
    Ok(Done {
        summary: format!(
            "set a temporary password for {user} (shown only to the user) and required a \
             change at next logon"
        ),
        verification,
        secret: Some(LocalSecret::new(user, password)),
    })
}

fn clear_queue(ctx: &mut Ctx, printer: &str) -> Outcome {
    let out = powershell(
        ctx,
        "clear-queue",
        CLEAR_QUEUE_PS,
        &[printer],
        "printer name on stdin",
    )?;
    let verification = match output_value(&out.stdout_text(), "remaining") {
        Some("0") => Verification::Verified {
            detail: format!("no job left on {printer}"),
        },
        other => Verification::Failed {
            reason: format!("{} job(s) still queued on {printer}", other.unwrap_or("?")),
        },
    };
    Ok(Done::new(
        format!("removed every job on {printer}"),
        verification,
    ))
}

/// Whether `tasklist` lists `pid`. The filter is a fixed form around a validated integer.
fn is_running(pid: u32) -> bool {
    let Some(tasklist) = command::find_program("tasklist.exe") else {
        return false;
    };
    let filter = format!("PID eq {pid}");
    let out = command::run(
        &tasklist,
        &["/FI", &filter, "/NH", "/FO", "CSV"],
        None,
        Duration::from_secs(10),
    );
    out.stdout_text().contains(&format!(",\"{pid}\","))
}

/// `taskkill /PID` (a polite close), then `taskkill /F /PID` after the grace period.
fn kill_process(ctx: &mut Ctx, pid: u32, grace: Duration) -> Outcome {
    if pid == std::process::id() {
        return Err(Stopped::from(ExitStatus::Failed {
            code: None,
            message: "refusing to end the agent itself".into(),
        }));
    }
    if !is_running(pid) {
        return Err(Stopped::from(ExitStatus::Failed {
            code: None,
            message: format!("no process with id {pid}"),
        }));
    }
    let arg = pid.to_string();
    let gone = || (!is_running(pid)).then_some(());
    for (args, wait, how) in [
        (vec!["/PID", arg.as_str()], grace, "a close request"),
        (
            vec!["/F", "/PID", arg.as_str()],
            Duration::from_secs(5),
            "forced termination",
        ),
    ] {
        // Console programs refuse the polite request; that is what the forced pass is for.
        ctx.run("taskkill.exe", &args)?;
        if poll_until(ctx.check_deadline(wait), gone).is_some() {
            return Ok(Done::new(
                format!("process {pid} ended after {how}"),
                Verification::Verified {
                    detail: format!("process {pid} no longer exists"),
                },
            ));
        }
    }
    Ok(Done::new(
        format!("asked process {pid} to close, then forced it"),
        Verification::Failed {
            reason: format!("process {pid} still exists"),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_commands_are_utf16le_base64_of_the_constant_script() {
        let encoded = encode_command("Write-Output 'é'");
        let bytes = STANDARD.decode(encoded).unwrap();
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(String::from_utf16(&units).unwrap(), "Write-Output 'é'");
    }

    #[test]
    fn scripts_read_every_value_from_stdin_and_use_no_wildcard_lookups() {
        for script in [SERVICE_RESTART_PS, RESET_PASSWORD_PS, CLEAR_QUEUE_PS] {
            assert!(script.contains("[Console]::In.ReadLine()"));
            assert!(!script.contains("-Name $name"), "{script}");
            assert!(!script.contains("-PrinterName"), "{script}");
            assert!(script.starts_with("$ErrorActionPreference = 'Stop'"));
        }
    }

    #[test]
    fn key_value_output_is_parsed() {
        let out = "before=100\r\nafter=200\r\nstate=Running\r\n";
        assert_eq!(output_value(out, "before"), Some("100"));
        assert_eq!(output_value(out, "after"), Some("200"));
        assert_eq!(output_value(out, "state"), Some("Running"));
        assert_eq!(output_value(out, "missing"), None);
        assert_eq!(output_value("beforehand=1", "before"), None);
    }
}
