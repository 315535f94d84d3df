//! Print queues through the CUPS command-line tools (Linux and macOS alike).

use std::time::Duration;

use crate::catalog::PrinterName;
use crate::execute::{Ctx, Done, Outcome, Verification, command, poll_until};

/// How long the queue may take to drain after `cancel -a`.
const DRAIN: Duration = Duration::from_secs(10);

/// `cancel -a PRINTER`, `cupsenable PRINTER`, then wait for `lpstat -o PRINTER` to list
/// nothing. Re-enabling is part of the fix: CUPS stops a queue after a backend error, which
/// is the usual reason jobs pile up.
pub(crate) fn clear_queue(ctx: &mut Ctx, printer: &PrinterName) -> Outcome {
    let p = printer.as_str();
    ctx.run_ok("cancel", &["-a", p])?;
    ctx.run_ok("cupsenable", &[p])?;
    let Some(lpstat) = command::find_program("lpstat") else {
        return Ok(Done::new(
            format!("cancelled every job on {p} and re-enabled it"),
            Verification::NotApplicable {
                reason: "`lpstat` is not installed".into(),
            },
        ));
    };
    let deadline = ctx.check_deadline(DRAIN);
    let mut last = None;
    let empty = poll_until(deadline, || {
        let out = command::run(&lpstat, &["-o", p], None, Duration::from_secs(5));
        let jobs = out.success().then(|| count_jobs(&out.stdout_text()));
        last = Some(out);
        (jobs == Some(0)).then_some(())
    });
    // The final check goes into the transcript; the polls before it would only be noise.
    let last = last.expect("poll_until probes at least once");
    ctx.log.command(&format!("lpstat -o {p}"), None, &last);
    let verification = if empty.is_some() {
        Verification::Verified {
            detail: format!("no job left on {p}"),
        }
    } else if last.success() {
        Verification::Failed {
            reason: format!(
                "{} job(s) still queued on {p}",
                count_jobs(&last.stdout_text())
            ),
        }
    } else {
        Verification::Failed {
            reason: last.describe("lpstat"),
        }
    };
    Ok(Done::new(
        format!("cancelled every job on {p} and re-enabled it"),
        verification,
    ))
}

fn count_jobs(lpstat_output: &str) -> usize {
    lpstat_output
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}
