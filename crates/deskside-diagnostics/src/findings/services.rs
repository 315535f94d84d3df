//! Services that should run but do not.

use super::{Finding, FindingRules, Severity, SuggestedFix, finding, ids, with_fix};
use crate::sections::services::ServiceState;
use crate::snapshot::Snapshot;

pub(super) fn stopped_services(
    snapshot: &Snapshot,
    rules: &FindingRules,
    found: &mut Vec<Finding>,
) {
    let Some(services) = snapshot.services() else {
        return;
    };
    for alternatives in &rules.expected_services {
        let installed: Vec<_> = alternatives
            .iter()
            .filter_map(|name| services.get(name))
            .collect();
        // An unknown state (an init script without `status`) is not evidence of a problem.
        let stopped = installed
            .iter()
            .find(|s| matches!(s.state, ServiceState::Stopped | ServiceState::Failed));
        let running = installed.iter().any(|s| s.state == ServiceState::Running);
        let Some(service) = stopped.filter(|_| !running) else {
            continue;
        };
        let name = service.name.as_str();
        let failed = service.state == ServiceState::Failed;
        found.push(with_fix(
            finding(
                ids::SERVICE_STOPPED,
                Some(name),
                Severity::Warning,
                format!("The {name} service is not running"),
                format!(
                    "{name} is installed but {}.",
                    if failed { "has failed" } else { "stopped" }
                ),
            ),
            SuggestedFix::action(
                "service.restart",
                &[("name", name)],
                format!("Restart the {name} service."),
            ),
        ));
    }
}
