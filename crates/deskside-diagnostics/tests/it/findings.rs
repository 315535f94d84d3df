use chrono::Duration;
use deskside_diagnostics::findings::ids::*;
use deskside_diagnostics::{FindingRules, Severity, findings};

use crate::fixture;

use Severity::{Critical, Info, Warning};

struct Expected {
    id: &'static str,
    subject: Option<&'static str>,
    severity: Severity,
    action: Option<&'static str>,
}

const fn f(
    id: &'static str,
    subject: Option<&'static str>,
    severity: Severity,
    action: Option<&'static str>,
) -> Expected {
    Expected {
        id,
        subject,
        severity,
        action,
    }
}

/// (fixture, server time minus snapshot time in seconds, expected findings in order).
fn table() -> Vec<(&'static str, Option<i64>, Vec<Expected>)> {
    let clear_queue = Some("print.clear_queue");
    let restart = Some("service.restart");
    vec![
        (
            "debian12-vm",
            Some(30),
            vec![
                f(PRINT_QUEUE_STUCK, Some("deskB"), Warning, clear_queue),
                f(SERVICE_STOPPED, Some("cups"), Warning, restart),
            ],
        ),
        // The snapshot's clock is 5 minutes ahead of the server's.
        (
            "debian12-vm",
            Some(-300),
            vec![
                f(CLOCK_SKEW, None, Warning, None),
                f(PRINT_QUEUE_STUCK, Some("deskB"), Warning, clear_queue),
                f(SERVICE_STOPPED, Some("cups"), Warning, restart),
            ],
        ),
        // Just inside the tolerance.
        (
            "debian12-vm",
            Some(119),
            vec![
                f(PRINT_QUEUE_STUCK, Some("deskB"), Warning, clear_queue),
                f(SERVICE_STOPPED, Some("cups"), Warning, restart),
            ],
        ),
        (
            "debian12-trouble",
            None,
            vec![
                f(
                    DISK_ALMOST_FULL,
                    Some("/"),
                    Critical,
                    Some("disk.clean_temp"),
                ),
                f(
                    DNS_FAILURE,
                    Some("desk.example.org"),
                    Critical,
                    Some("network.flush_dns"),
                ),
                f(GATEWAY_UNREACHABLE, Some("192.0.2.1"), Critical, None),
                f(MEMORY_PRESSURE, None, Critical, None),
                f(
                    DISK_ALMOST_FULL,
                    Some("/home"),
                    Warning,
                    Some("disk.clean_temp"),
                ),
                f(PRINT_QUEUE_STUCK, Some("deskA"), Warning, clear_queue),
                f(PRINT_QUEUE_STUCK, Some("deskB"), Warning, clear_queue),
                f(
                    SERVER_UNREACHABLE,
                    Some("desk.example.org:443"),
                    Warning,
                    None,
                ),
                f(SERVICE_STOPPED, Some("cron"), Warning, restart),
                f(SERVICE_STOPPED, Some("cups"), Warning, restart),
                f(LONG_UPTIME, None, Info, None),
                f(REBOOT_PENDING, None, Info, None),
            ],
        ),
        ("debian12-after-upgrade", Some(0), vec![]),
        (
            "windows-spooler",
            Some(10),
            vec![f(
                PRINT_QUEUE_STUCK,
                Some("Reception HP"),
                Warning,
                Some("print.restart_spooler"),
            )],
        ),
    ]
}

#[test]
fn recorded_snapshots_give_the_expected_findings() {
    let rules = FindingRules::default();
    for (name, skew, expected) in table() {
        let snapshot = fixture(name);
        let reference = skew.map(|s| snapshot.collected_at + Duration::seconds(s));
        let got = findings(&snapshot, &rules, reference);
        let got_keys: Vec<_> = got
            .iter()
            .map(|f| {
                let action = f.suggested_fix.as_ref().and_then(|x| x.action.as_deref());
                (f.id.as_str(), f.subject.as_deref(), f.severity, action)
            })
            .collect();
        let want: Vec<_> = expected
            .iter()
            .map(|e| (e.id, e.subject, e.severity, e.action))
            .collect();
        assert_eq!(got_keys, want, "{name} with skew {skew:?}");
        for finding in &got {
            assert!(
                !finding.title.is_empty() && !finding.detail.is_empty(),
                "{finding:?}"
            );
        }
    }
}

#[test]
fn titles_speak_plainly_and_fixes_name_their_target() {
    let snapshot = fixture("debian12-trouble");
    let got = findings(&snapshot, &FindingRules::default(), None);
    let titles: Vec<&str> = got.iter().map(|f| f.title.as_str()).collect();
    assert!(titles.contains(&"Disk / is 97 % full"), "{titles:#?}");
    assert!(
        titles.contains(&"Printer deskB is paused with 3 jobs waiting"),
        "{titles:#?}"
    );
    assert!(
        titles.contains(&"Printer deskA has had a job waiting for 40 minutes"),
        "{titles:#?}"
    );
    assert!(
        titles.contains(&"The computer has not been restarted for 45 days"),
        "{titles:#?}"
    );

    let param = |id: &str, subject: &str, key: &str| {
        got.iter()
            .find(|f| f.id == id && f.subject.as_deref() == Some(subject))
            .and_then(|f| f.suggested_fix.as_ref()?.params.get(key).cloned())
    };
    assert_eq!(
        param(PRINT_QUEUE_STUCK, "deskB", "printer").as_deref(),
        Some("deskB")
    );
    assert_eq!(
        param(SERVICE_STOPPED, "cron", "name").as_deref(),
        Some("cron")
    );
}

#[test]
fn thresholds_come_from_the_rules() {
    let snapshot = fixture("debian12-trouble");
    let lenient = FindingRules {
        disk_warning_percent: 99.0,
        disk_critical_percent: 99.5,
        expected_services: vec![],
        long_uptime_days: 60,
        ..FindingRules::default()
    };
    let ids: Vec<String> = findings(&snapshot, &lenient, None)
        .into_iter()
        .map(|f| f.id)
        .collect();
    for absent in [DISK_ALMOST_FULL, SERVICE_STOPPED, LONG_UPTIME] {
        assert!(!ids.iter().any(|id| id == absent), "{absent} in {ids:?}");
    }
}

#[test]
fn findings_survive_a_json_round_trip() {
    let got = findings(&fixture("debian12-trouble"), &FindingRules::default(), None);
    let json = serde_json::to_string(&got).unwrap();
    assert!(json.contains(r#""severity":"critical""#) && json.contains(r#""suggestedFix""#));
    let back: Vec<deskside_diagnostics::Finding> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, got);
}
