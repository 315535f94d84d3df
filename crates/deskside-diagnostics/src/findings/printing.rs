//! Print queues that stopped moving.

use super::{
    Finding, FindingRules, Severity, SuggestedFix, finding, ids, minutes_words, plural, with_fix,
};
use crate::snapshot::Snapshot;

pub(super) fn print_queues(snapshot: &Snapshot, rules: &FindingRules, found: &mut Vec<Finding>) {
    let Some(printers) = snapshot.printers() else {
        return;
    };
    let windows = snapshot.platform == "windows";
    for printer in &printers.printers {
        let name = printer.name.as_str();
        let oldest = printer.oldest_job_age_secs.map(minutes_words);
        let (severity, title) = if !printer.enabled && printer.queued_jobs > 0 {
            (
                Severity::Warning,
                format!(
                    "Printer {name} is paused with {} waiting",
                    plural(u64::from(printer.queued_jobs), "job")
                ),
            )
        } else if printer
            .oldest_job_age_secs
            .is_some_and(|age| age >= rules.print_job_stuck_after_secs)
        {
            (
                Severity::Warning,
                format!(
                    "Printer {name} has had a job waiting for {}",
                    oldest.clone().unwrap_or_default()
                ),
            )
        } else {
            continue;
        };
        let mut detail = format!("{} queued", plural(u64::from(printer.queued_jobs), "job"));
        if let Some(oldest) = oldest {
            detail.push_str(&format!(", the oldest for {oldest}"));
        }
        detail.push_str(&format!("; the printer is {}", printer.state.as_str()));
        if let Some(reason) = &printer.reason {
            detail.push_str(&format!(" ({reason})"));
        }
        detail.push('.');
        // On Windows a wedged spooler holds every queue; CUPS queues are cleared one by one.
        let fix = if windows {
            SuggestedFix::action(
                "print.restart_spooler",
                &[],
                "Restart the print spooler; if the job is still stuck, clear the queue and print again.",
            )
        } else {
            SuggestedFix::action(
                "print.clear_queue",
                &[("printer", name)],
                "Check that the printer is on and connected, then clear the queue and print again.",
            )
        };
        found.push(with_fix(
            finding(ids::PRINT_QUEUE_STUCK, Some(name), severity, title, detail),
            fix,
        ));
    }
}
