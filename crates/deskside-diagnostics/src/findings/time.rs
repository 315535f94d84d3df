//! The clock, and how long since the last restart.

use chrono::{DateTime, Utc};

use super::{
    Finding, FindingRules, Severity, SuggestedFix, duration_words, finding, ids, plural, with_fix,
};
use crate::snapshot::{Probe, Snapshot};

pub(super) fn clock(
    snapshot: &Snapshot,
    rules: &FindingRules,
    reference: Option<DateTime<Utc>>,
    found: &mut Vec<Finding>,
) {
    let Some(reference) = reference else { return };
    let skew = (snapshot.collected_at - reference).num_seconds();
    if skew.unsigned_abs() <= rules.clock_skew_warning_secs {
        return;
    }
    let direction = if skew > 0 { "ahead" } else { "behind" };
    found.push(with_fix(
        finding(
            ids::CLOCK_SKEW,
            None,
            Severity::Warning,
            format!("The computer's clock is {} {direction}", duration_words(skew.unsigned_abs())),
            format!(
                "The computer said {} when the server's time was {}. Sign-ins and certificates fail when clocks disagree.",
                snapshot.collected_at.format("%Y-%m-%d %H:%M:%S UTC"),
                reference.format("%Y-%m-%d %H:%M:%S UTC"),
            ),
        ),
        SuggestedFix::advice("Turn on automatic time synchronisation in the date and time settings."),
    ));
}

pub(super) fn uptime(snapshot: &Snapshot, rules: &FindingRules, found: &mut Vec<Finding>) {
    let Some(system) = snapshot.system() else {
        return;
    };
    let days = system.uptime_secs / 86_400;
    if days > rules.long_uptime_days {
        found.push(with_fix(
            finding(
                ids::LONG_UPTIME,
                None,
                Severity::Info,
                format!(
                    "The computer has not been restarted for {}",
                    plural(days, "day")
                ),
                "Long-running computers collect stuck programs and delayed updates.".to_owned(),
            ),
            SuggestedFix::advice("Save your work and restart the computer when convenient."),
        ));
    }
    if let Probe::Available(pending) = &system.pending_reboot
        && pending.required
    {
        let because = if pending.because_of.is_empty() {
            String::new()
        } else {
            format!(" Requested by: {}.", pending.because_of.join(", "))
        };
        found.push(with_fix(
            finding(
                ids::REBOOT_PENDING,
                None,
                Severity::Info,
                "A restart is needed to finish installing updates".to_owned(),
                format!("Updates were installed that take effect after a restart.{because}"),
            ),
            SuggestedFix::advice("Save your work and restart the computer when convenient."),
        ));
    }
}
