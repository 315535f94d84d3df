use serde_json::json;

use super::*;

/// Inputs every name validator must refuse: injection attempts, traversal, option
/// smuggling, look-alike Unicode, control characters, empty and oversized.
const MALICIOUS: &[&str] = &[
    "foo; rm -rf /",
    "$(reboot)",
    "`reboot`",
    "cups && reboot",
    "cups | nc evil 1",
    "../etc",
    "/etc/passwd",
    "..",
    ".",
    "-rf",
    "--help",
    "cups\nreboot",
    "cups\0",
    "cups ",
    " cups",
    "cu ps",
    "cups*",
    "cup?",
    "cups#1",
    "'cups'",
    "\"cups\"",
    "ｃｕｐｓ",
    "cupś",
    "cups\u{202e}",
    "",
];

#[test]
fn every_action_has_exactly_one_entry_and_a_stable_wire_name() {
    assert_eq!(catalog().len(), ActionId::ALL.len());
    for id in ActionId::ALL {
        assert_eq!(catalog().iter().filter(|e| e.id == id).count(), 1, "{id}");
        assert_eq!(id.entry().id, id);
        assert_eq!(ActionId::parse(id.as_str()), Some(id));
        assert_eq!(id.as_str().parse::<ActionId>(), Ok(id));
        assert_eq!(serde_json::to_value(id).unwrap(), json!(id.as_str()));
        assert!(!id.entry().platforms.is_empty());
    }
    assert_eq!(ActionId::parse("Service.Restart"), None);
    assert_eq!(ActionId::parse("shell.exec"), None);
}

#[test]
fn the_catalog_matches_the_design() {
    use ApprovalPolicy as A;
    use RiskLevel as R;
    let table = [
        (ActionId::ServiceRestart, R::Medium, A::None, &["name"][..]),
        (
            ActionId::AccountResetPassword,
            R::High,
            A::UserConsent,
            &["username"],
        ),
        (ActionId::PrintClearQueue, R::Low, A::None, &["printer"]),
        (ActionId::PrintRestartSpooler, R::Low, A::None, &[]),
        (ActionId::NetworkFlushDns, R::Low, A::None, &[]),
        (ActionId::DiskCleanTemp, R::Low, A::None, &[]),
        (ActionId::ProcessKill, R::High, A::SecondAgent, &["pid"]),
        (ActionId::DiagnosticsCollect, R::Low, A::None, &[]),
    ];
    for (id, risk, approval, params) in table {
        let e = id.entry();
        assert_eq!((e.risk, e.approval), (risk, approval), "{id}");
        let names: Vec<&str> = e.params.iter().map(|p| p.name).collect();
        assert_eq!(names, params, "{id}");
        assert!(!e.title.is_empty() && !e.description.is_empty() && !e.verification.is_empty());
    }
    assert!(!ActionId::DiskCleanTemp.entry().supports(Platform::Windows));
    assert!(ActionId::ServiceRestart.entry().supports(Platform::Linux));
}

#[test]
fn the_catalog_serialises_for_the_ui_with_a_json_schema_per_action() {
    let value = serde_json::to_value(catalog()).unwrap();
    let restart = &value[0];
    assert_eq!(restart["id"], "service.restart");
    assert_eq!(restart["risk"], "medium");
    assert_eq!(restart["approval"], "none");
    assert_eq!(restart["platforms"], json!(["linux", "windows", "macos"]));
    assert_eq!(restart["params"][0]["name"], "name");
    assert_eq!(restart["params"][0]["type"], "string");
    assert_eq!(restart["params"][0]["pattern"], SERVICE_NAME_PATTERN);
    assert_eq!(value[6]["approval"], "second_agent");
    assert_eq!(value[6]["params"][0]["minimum"], 2);

    let schema = ActionId::ProcessKill.entry().params_schema();
    assert_eq!(
        schema,
        json!({
            "type": "object",
            "properties": {"pid": {
                "type": "integer",
                "description": "Process id. Never 1 (init).",
                "minimum": 2,
                "maximum": 4_194_304,
            }},
            "required": ["pid"],
            "additionalProperties": false,
        })
    );
    let empty = ActionId::NetworkFlushDns.entry().params_schema();
    assert_eq!(empty["required"], json!([]));
}

#[test]
fn service_names() {
    for ok in [
        "cups",
        "nginx",
        "getty@tty1",
        "systemd-resolved",
        "org.cups.cupsd",
        "Spooler",
        "a_b.c-d@e",
        "9p",
    ] {
        assert!(ServiceName::parse(ok).is_ok(), "{ok}");
    }
    assert!(ServiceName::parse(&"a".repeat(128)).is_ok());
    assert!(ServiceName::parse(&"a".repeat(129)).is_err());
    for bad in MALICIOUS {
        assert!(ServiceName::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        ServiceName::parse("foo; rm -rf /").unwrap_err(),
        "contains ';'; only ASCII letters, digits and @ . _ - are allowed"
    );
    assert_eq!(
        ServiceName::parse("-rf").unwrap_err(),
        "must not start with '-'"
    );
    assert_eq!(ServiceName::parse("").unwrap_err(), "must not be empty");
}

/// Only services: what the probe got signed and run (`poweroff.target`,
/// `modprobe@dummy.service`) and every other unit type that is not a service.
#[test]
fn service_names_are_services_and_templated_units_are_never_requested() {
    // (name, accepted as a name anywhere, accepted in a staff request)
    let table = [
        ("cups", true, true),
        ("cups.service", true, true),
        ("NetworkManager", true, true),
        ("org.cups.cupsd", true, true),
        ("Spooler", true, true),
        ("poweroff.target", false, false),
        ("POWEROFF.TARGET", false, false),
        ("reboot.target", false, false),
        ("cups.socket", false, false),
        ("home.mount", false, false),
        ("proc-sys-fs-binfmt_misc.automount", false, false),
        ("dev-sda2.swap", false, false),
        ("cups.path", false, false),
        ("apt-daily.timer", false, false),
        ("user.slice", false, false),
        ("session-1.scope", false, false),
        ("dev-sda.device", false, false),
        ("@", false, false),
        ("@dummy.service", false, false),
        ("modprobe@.service", false, false),
        ("getty@", false, false),
        // A templated unit is a name, so an endpoint policy may list it exactly; the server
        // never asks for one.
        ("modprobe@dummy.service", true, false),
        ("getty@tty1", true, false),
    ];
    for (name, is_name, requestable) in table {
        assert_eq!(ServiceName::parse(name).is_ok(), is_name, "{name}");
        let request = json!({"action": "service.restart", "params": {"name": name}});
        match ActionParams::from_request(&request) {
            Ok(_) => assert!(requestable, "{name} was accepted"),
            Err(errors) => {
                assert!(!requestable, "{name}: {errors:?}");
                assert_eq!(errors.0.len(), 1, "{name}: {errors:?}");
                assert_eq!(errors.0[0].field, "params.name", "{name}");
            }
        }
        // An order carrying it parses exactly when the name is a name: the endpoint's policy
        // decides about templated units.
        let order = ActionParams::from_parts("service.restart", Some(&json!({"name": name})));
        assert_eq!(order.is_ok(), is_name, "{name}");
    }
    assert_eq!(
        ServiceName::parse("poweroff.target").unwrap_err(),
        "names a .target unit; only services (`name` or `name.service`) can be restarted"
    );
    let cups = ServiceName::parse("cups").unwrap();
    assert!(cups.same_service(&ServiceName::parse("cups.service").unwrap()));
    assert!(!cups.same_service(&ServiceName::parse("cups-browsed").unwrap()));
    assert!(
        ServiceName::parse("getty@tty1")
            .unwrap()
            .is_template_instance()
    );
    assert!(!cups.is_template_instance());
}

#[test]
fn usernames() {
    for ok in ["alice", "_svc", "bob-smith", "user_1", "a", &"a".repeat(32)] {
        assert!(Username::parse(ok).is_ok(), "{ok}");
    }
    for bad in MALICIOUS {
        assert!(Username::parse(bad).is_err(), "{bad:?}");
    }
    for bad in [
        "root",
        "Alice",
        "1user",
        "-user",
        "al.ice",
        "al@ice",
        &"a".repeat(33),
        "ålice",
    ] {
        assert!(Username::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        Username::parse("root").unwrap_err(),
        "resetting root's password is refused"
    );
    // Only `root` itself is refused by name; administrators are the policy's business.
    assert!(Username::parse("rooter").is_ok());
}

#[test]
fn printer_names() {
    for ok in ["office-laser", "HP_LaserJet_4.0", "deskside-test", "P1"] {
        assert!(PrinterName::parse(ok).is_ok(), "{ok}");
    }
    assert!(PrinterName::parse(&"p".repeat(127)).is_ok());
    assert!(PrinterName::parse(&"p".repeat(128)).is_err());
    for bad in MALICIOUS {
        assert!(PrinterName::parse(bad).is_err(), "{bad:?}");
    }
    // CUPS forbids these; `@` is allowed in service names but not printers.
    for bad in ["a/b", "a#b", "a b", "a@b"] {
        assert!(PrinterName::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn pids() {
    for (value, ok) in [
        (0, false),
        (1, false),
        (2, true),
        (1234, true),
        (u64::from(PID_MAX), true),
        (u64::from(PID_MAX) + 1, false),
        (u64::MAX, false),
    ] {
        assert_eq!(Pid::new(value).is_ok(), ok, "{value}");
    }
    assert_eq!(Pid::new(1).unwrap_err(), "must not be 1 (init)");
}

fn parse(v: serde_json::Value) -> Result<ActionParams, Vec<(String, String)>> {
    ActionParams::from_json(&v).map_err(|e| e.0.into_iter().map(|f| (f.field, f.message)).collect())
}

#[test]
fn every_action_round_trips_through_json() {
    let all = [
        ActionParams::ServiceRestart {
            name: ServiceName::parse("cups").unwrap(),
        },
        ActionParams::AccountResetPassword {
            username: Username::parse("alice").unwrap(),
        },
        ActionParams::PrintClearQueue {
            printer: PrinterName::parse("office").unwrap(),
        },
        ActionParams::PrintRestartSpooler,
        ActionParams::NetworkFlushDns,
        ActionParams::DiskCleanTemp,
        ActionParams::ProcessKill {
            pid: Pid::new(4321).unwrap(),
        },
        ActionParams::DiagnosticsCollect,
    ];
    assert_eq!(all.len(), ActionId::ALL.len());
    for p in all {
        let text = serde_json::to_string(&p).unwrap();
        let back: ActionParams = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p, "{text}");
    }
    assert_eq!(
        serde_json::to_value(ActionParams::NetworkFlushDns).unwrap(),
        json!({"action": "network.flush_dns", "params": {}})
    );
    assert_eq!(
        serde_json::to_value(ActionParams::ProcessKill {
            pid: Pid::new(77).unwrap()
        })
        .unwrap(),
        json!({"action": "process.kill", "params": {"pid": 77}})
    );
}

#[test]
fn malicious_parameters_are_rejected_at_parse_time_with_the_field_named() {
    for bad in MALICIOUS {
        for (action, field) in [
            ("service.restart", "name"),
            ("account.reset_password", "username"),
            ("print.clear_queue", "printer"),
        ] {
            let result = parse(json!({"action": action, "params": {field: bad}}));
            let errors = result.expect_err(bad);
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].0, format!("params.{field}"));
        }
        let text =
            serde_json::to_string(&json!({"action": "service.restart", "params": {"name": bad}}))
                .unwrap();
        assert!(
            serde_json::from_str::<ActionParams>(&text).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn shape_errors_are_reported_by_field() {
    let cases: Vec<(serde_json::Value, Vec<(&str, &str)>)> = vec![
        (
            json!({"action": "shell.exec", "params": {"command": "rm -rf /"}}),
            vec![("action", "unknown action `shell.exec`")],
        ),
        (json!({"params": {}}), vec![("action", "is required")]),
        (json!({"action": 7}), vec![("action", "must be a string")]),
        (
            json!({"action": "service.restart", "params": {}}),
            vec![("params.name", "is required")],
        ),
        (
            json!({"action": "service.restart", "params": {"name": 5}}),
            vec![("params.name", "must be a string")],
        ),
        (
            json!({"action": "service.restart", "params": {"name": "cups", "args": "-x"}}),
            vec![("params.args", "unknown parameter")],
        ),
        (
            json!({"action": "service.restart", "params": "cups"}),
            vec![("params", "must be an object")],
        ),
        (
            json!({"action": "network.flush_dns", "params": {"server": "1.1.1.1"}}),
            vec![("params.server", "unknown parameter")],
        ),
        (
            json!({"action": "network.flush_dns", "extra": true}),
            vec![("extra", "unknown field")],
        ),
        (
            json!({"action": "process.kill", "params": {"pid": "123"}}),
            vec![("params.pid", "must be a non-negative integer")],
        ),
        (
            json!({"action": "process.kill", "params": {"pid": -5}}),
            vec![("params.pid", "must be a non-negative integer")],
        ),
        (
            json!({"action": "process.kill", "params": {"pid": 12.5}}),
            vec![("params.pid", "must be a non-negative integer")],
        ),
        (
            json!({"action": "process.kill", "params": {"pid": 1}}),
            vec![("params.pid", "must not be 1 (init)")],
        ),
        (
            json!({"action": "account.reset_password", "params": {"username": "root"}}),
            vec![("params.username", "resetting root's password is refused")],
        ),
    ];
    for (input, expected) in cases {
        let got = parse(input.clone()).expect_err(&input.to_string());
        let got: Vec<(&str, &str)> = got.iter().map(|(f, m)| (f.as_str(), m.as_str())).collect();
        assert_eq!(got, expected, "{input}");
    }
}

#[test]
fn parameterless_actions_accept_a_missing_or_null_params() {
    assert_eq!(
        parse(json!({"action": "disk.clean_temp"})),
        Ok(ActionParams::DiskCleanTemp)
    );
    assert_eq!(
        parse(json!({"action": "disk.clean_temp", "params": null})),
        Ok(ActionParams::DiskCleanTemp)
    );
}

#[test]
fn unknown_action_json_does_not_deserialise() {
    let err =
        serde_json::from_str::<ActionParams>(r#"{"action":"system.shell","params":{"cmd":"id"}}"#)
            .unwrap_err();
    assert!(err.to_string().contains("unknown action"), "{err}");
    assert!(serde_json::from_str::<ActionParams>("[]").is_err());
}

#[test]
fn huge_attacker_text_is_truncated_in_messages() {
    let long = "x".repeat(10_000);
    let errors = parse(json!({"action": long})).unwrap_err();
    assert!(errors[0].1.len() < 100, "{}", errors[0].1.len());
}
