//! DNS, gateway and server reachability.

use super::{Finding, Severity, SuggestedFix, detail_or_unknown, finding, ids, with_fix};
use crate::snapshot::{Probe, Snapshot};

pub(super) fn network(snapshot: &Snapshot, found: &mut Vec<Finding>) {
    let Some(network) = snapshot.network() else {
        return;
    };
    if let Probe::Available(servers) = &network.dns_servers
        && servers.is_empty()
    {
        found.push(with_fix(
            finding(
                ids::DNS_FAILURE,
                None,
                Severity::Critical,
                "No DNS servers are configured".to_owned(),
                "Without a DNS server the computer cannot turn names into addresses: websites and the help desk cannot be found.".to_owned(),
            ),
            SuggestedFix::advice("Reconnect to the network, or ask IT to check the network settings."),
        ));
    }
    let checks = &network.reachability;
    if let Some(check) = checks.gateway.as_available().filter(|c| !c.ok) {
        found.push(with_fix(
            finding(
                ids::GATEWAY_UNREACHABLE,
                Some(&check.target),
                Severity::Critical,
                "The local network's router does not answer".to_owned(),
                format!("The default gateway {} did not answer: {}.", check.target, detail_or_unknown(&check.detail)),
            ),
            SuggestedFix::advice("Check the network cable or Wi-Fi connection, then restart the router if others are affected too."),
        ));
    }
    if let Some(check) = checks.dns.as_available().filter(|c| !c.ok) {
        found.push(with_fix(
            finding(
                ids::DNS_FAILURE,
                Some(&check.target),
                Severity::Critical,
                "Names cannot be looked up (DNS)".to_owned(),
                format!(
                    "Looking up {} failed: {}.",
                    check.target,
                    detail_or_unknown(&check.detail)
                ),
            ),
            SuggestedFix::action(
                "network.flush_dns",
                &[],
                "Clear the DNS cache; if that does not help, reconnect to the network.",
            ),
        ));
    }
    if let Some(check) = checks.server.as_available().filter(|c| !c.ok) {
        found.push(with_fix(
            finding(
                ids::SERVER_UNREACHABLE,
                Some(&check.target),
                Severity::Warning,
                "The help desk server cannot be reached".to_owned(),
                format!("Connecting to {} failed: {}.", check.target, detail_or_unknown(&check.detail)),
            ),
            SuggestedFix::advice("Check the internet or VPN connection; requests are kept and sent once the server is back."),
        ));
    }
}
