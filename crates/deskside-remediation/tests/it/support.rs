//! Helpers for the real-OS tests: privilege checks that explain skips, orders that went
//! through the real signer and verifier, and guards that clean up even when a test fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use deskside_remediation::catalog::Approval;
use deskside_remediation::order::{Consent, MemoryReplayGuard};
use deskside_remediation::policy::SystemUserDirectory;
use deskside_remediation::{
    ActionParams, Order, OrderSigner, OrderVerifier, Policy, VerifiedOrder,
};

/// Whether this process runs with effective uid 0 (from /proc, to avoid a libc dependency).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// The full path of a system tool, if installed.
pub fn tool(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// `None` when the test can run; otherwise why not.
pub fn requires(root: bool, tools: &[&str]) -> Option<String> {
    if root && !is_root() {
        return Some("needs root (CI runs as root)".into());
    }
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| tool(t).is_none())
        .collect();
    (!missing.is_empty()).then(|| format!("missing tools: {}", missing.join(", ")))
}

/// Says why a test did not run. Written to the real stderr, past the test harness's
/// capture, so the reason shows in CI logs even when the test passes.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Runs a tool (tests only: fixed arguments, no shell), returning its output.
pub fn sh(program: &str, args: &[&str]) -> Output {
    let path = tool(program).unwrap_or_else(|| panic!("{program} is not installed"));
    Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

pub fn sh_ok(program: &str, args: &[&str]) -> String {
    let out = sh(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn sh_stdin(program: &str, args: &[&str], input: &[u8]) {
    use std::io::Write;
    let mut child = Command::new(tool(program).expect(program))
        .args(args)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    assert!(child.wait().unwrap().success(), "{program} {args:?}");
}

/// Polls `f` until it yields `Some`, panicking with `what` after `within`.
pub fn wait_for<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    let mut interval = Duration::from_millis(2);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(interval);
        interval = (interval * 2).min(Duration::from_millis(50));
    }
}

pub const DEVICE: &str = "it-device";

/// An order for `action` that went through the real path: signed, serialised, parsed and
/// verified against a policy allowing exactly that action (with the user's consent given).
pub fn verified(action: ActionParams) -> VerifiedOrder {
    let id = action.id();
    // Exactly this action; a password reset for that account, listed by name (so even a
    // missing account reaches the executor, whose own checks are under test).
    let mut text = format!("version = 1\n[actions.\"{id}\"]\n");
    if let ActionParams::AccountResetPassword { username } = &action {
        text.push_str(&format!("users = [\"{username}\"]\n"));
    }
    let policy = Policy::parse(&text).unwrap();
    let signer = OrderSigner::generate().unwrap();
    let verifier = OrderVerifier::from_public_key_base64(&signer.public_key_base64())
        .unwrap()
        .with_user_directory(Arc::new(SystemUserDirectory::default()));
    // As the server signs it: an account change with its own user's consent.
    let approval = match action.account() {
        Some(account) => Approval::UserConsent {
            account: account.as_str().to_owned(),
        },
        None => Approval::NotRequired,
    };
    let order = Order::new(
        "it-order",
        DEVICE,
        action,
        Utc::now(),
        TimeDelta::minutes(5),
    )
    .approved(approval);
    let wire = serde_json::to_string(&signer.sign(&order)).unwrap();
    let signed = serde_json::from_str(&wire).unwrap();
    verifier
        .verify_with_consent(
            &signed,
            DEVICE,
            Utc::now(),
            &MemoryReplayGuard::new(),
            &policy,
            Consent::Given,
        )
        .unwrap_or_else(|e| panic!("verification failed: {e}"))
}

/// Tests that restart or reconfigure CUPS take turns.
pub fn cups_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `cleanup` when dropped, whatever happened in the test.
pub struct Cleanup<F: FnMut()>(pub F);

impl<F: FnMut()> Drop for Cleanup<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// Whether `pid` is a live (non-zombie) process.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.split_whitespace().next().map(str::to_owned))
        })
        .flatten()
        .is_some_and(|state| state != "Z" && state != "X")
}
