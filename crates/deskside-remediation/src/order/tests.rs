use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::catalog::{Approval, Pid, ServiceName, Username};
use crate::policy::{Policy, SystemUserDirectory};

const DEVICE: &str = "dev-42";

struct Fixture {
    signer: OrderSigner,
    verifier: OrderVerifier,
    guard: MemoryReplayGuard,
    policy: Policy,
    now: DateTime<Utc>,
    _dir: tempfile::TempDir,
}

/// A signer, a verifier pinned to its key, and a user directory where `alice` is a plain
/// user and `admin` is in the sudo group.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let passwd = dir.path().join("passwd");
    let group = dir.path().join("group");
    std::fs::write(
        &passwd,
        "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nadmin:x:1001:1001::/home/admin:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        &group,
        "root:x:0:\nsudo:x:27:admin\nalice:x:1000:\nadmin:x:1001:\n",
    )
    .unwrap();
    let signer = OrderSigner::generate().unwrap();
    let verifier = OrderVerifier::from_public_key_base64(&signer.public_key_base64())
        .unwrap()
        .with_user_directory(Arc::new(SystemUserDirectory::with_files(passwd, group)));
    let policy = Policy::parse(
        r#"
        version = 1
        [actions."service.restart"]
        services = ["cups", "nginx"]
        [actions."account.reset_password"]
        require_consent = true
        [actions."network.flush_dns"]
        "#,
    )
    .unwrap();
    Fixture {
        signer,
        verifier,
        guard: MemoryReplayGuard::new(),
        policy,
        now: Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap(),
        _dir: dir,
    }
}

fn restart(name: &str) -> ActionParams {
    ActionParams::ServiceRestart {
        name: ServiceName::parse(name).unwrap(),
    }
}

impl Fixture {
    /// An order as the server signs it: an account change carries its own user's consent.
    fn order(&self, action: ActionParams) -> Order {
        let approval = match action.account() {
            Some(account) => Approval::UserConsent {
                account: account.as_str().to_owned(),
            },
            None => Approval::NotRequired,
        };
        Order::new("ord-1", DEVICE, action, self.now, TimeDelta::minutes(10)).approved(approval)
    }

    fn verify(&self, signed: &SignedOrder) -> Result<VerifiedOrder, RejectReason> {
        self.verifier
            .verify(signed, DEVICE, self.now, &self.guard, &self.policy)
    }
}

#[test]
fn a_valid_order_is_accepted_once() {
    let f = fixture();
    let order = f.order(restart("cups"));
    let signed = f.signer.sign(&order);
    let verified = f.verify(&signed).unwrap();
    assert_eq!(verified.order(), &order);
    assert_eq!(verified.order_id(), "ord-1");
    assert_eq!(verified.key_id(), f.signer.key_id());
    assert!(!verified.user_consented());
    assert_eq!(f.verify(&signed), Err(RejectReason::Replayed));
}

#[test]
fn the_wire_form_round_trips_and_still_verifies() {
    let f = fixture();
    // Sub-second times must survive JSON exactly, or the signature breaks.
    let mut order = f.order(restart("nginx"));
    order.issued_at += TimeDelta::nanoseconds(123_456_789);
    let text = serde_json::to_string(&f.signer.sign(&order)).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["order"]["action"], "service.restart");
    assert_eq!(value["order"]["params"], json!({"name": "nginx"}));
    assert_eq!(value["order"]["deviceId"], DEVICE);
    assert_eq!(value["keyId"], f.signer.key_id());
    let back: SignedOrder = serde_json::from_str(&text).unwrap();
    assert!(f.verify(&back).is_ok());
    // The typed Order uses the same JSON object.
    let typed: Order = serde_json::from_value(value["order"].clone()).unwrap();
    assert_eq!(typed, order);
}

#[test]
fn unknown_fields_on_the_wire_are_refused() {
    let f = fixture();
    let mut value = serde_json::to_value(f.signer.sign(&f.order(restart("cups")))).unwrap();
    value["order"]["shell"] = json!("id");
    assert!(serde_json::from_value::<SignedOrder>(value.clone()).is_err());
    value["order"].as_object_mut().unwrap().remove("shell");
    value["extra"] = json!(1);
    assert!(serde_json::from_value::<SignedOrder>(value).is_err());
}

/// The security table: each tampering and each refusal, with its distinct reason.
#[test]
fn rejections() {
    let other = OrderSigner::generate().unwrap();
    type Case = (
        &'static str,
        Box<dyn Fn(&Fixture) -> SignedOrder>,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "parameter changed after signing",
            Box::new(|f| {
                let mut s = f.signer.sign(&f.order(restart("cups")));
                s.order.params.insert("name".into(), json!("nginx"));
                s
            }),
            "bad_signature",
        ),
        (
            "device changed after signing",
            Box::new(|f| {
                let mut s = f.signer.sign(&f.order(restart("cups")));
                s.order.device_id = "dev-43".into();
                s
            }),
            "bad_signature",
        ),
        (
            "expiry extended after signing",
            Box::new(|f| {
                let mut s = f.signer.sign(&f.order(restart("cups")));
                s.order.expires_at += TimeDelta::days(1);
                s
            }),
            "bad_signature",
        ),
        (
            "signed by another key, claiming ours",
            Box::new({
                let other = other.to_secret_string();
                move |f| {
                    let mut s = OrderSigner::from_secret_string(&other)
                        .unwrap()
                        .sign(&f.order(restart("cups")));
                    s.key_id = f.signer.key_id().to_owned();
                    s
                }
            }),
            "bad_signature",
        ),
        (
            "signed by another key, honestly",
            Box::new({
                let other = other.to_secret_string();
                move |f| {
                    OrderSigner::from_secret_string(&other)
                        .unwrap()
                        .sign(&f.order(restart("cups")))
                }
            }),
            "unknown_key",
        ),
        (
            "random signature",
            Box::new(|f| {
                let mut s = f.signer.sign(&f.order(restart("cups")));
                s.signature =
                    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 64]);
                s
            }),
            "bad_signature",
        ),
        (
            "signature not base64",
            Box::new(|f| {
                let mut s = f.signer.sign(&f.order(restart("cups")));
                s.signature = "not base64!".into();
                s
            }),
            "malformed",
        ),
        (
            "for another device",
            Box::new(|f| {
                let mut o = f.order(restart("cups"));
                o.device_id = "dev-43".into();
                f.signer.sign(&o)
            }),
            "wrong_device",
        ),
        (
            "expired beyond the skew tolerance",
            Box::new(|f| {
                let o = Order::new(
                    "o",
                    DEVICE,
                    restart("cups"),
                    f.now - TimeDelta::minutes(20),
                    TimeDelta::minutes(17),
                );
                f.signer.sign(&o)
            }),
            "expired",
        ),
        (
            "issued beyond the skew tolerance in the future",
            Box::new(|f| {
                let o = Order::new(
                    "o",
                    DEVICE,
                    restart("cups"),
                    f.now + TimeDelta::minutes(3),
                    TimeDelta::minutes(10),
                );
                f.signer.sign(&o)
            }),
            "not_yet_valid",
        ),
        (
            "valid for too long",
            Box::new(|f| {
                let o = Order::new("o", DEVICE, restart("cups"), f.now, TimeDelta::days(8));
                f.signer.sign(&o)
            }),
            "invalid_lifetime",
        ),
        (
            "expires before issued",
            Box::new(|f| {
                let o = Order::new("o", DEVICE, restart("cups"), f.now, TimeDelta::minutes(-1));
                f.signer.sign(&o)
            }),
            "invalid_lifetime",
        ),
        (
            "service outside the policy's list",
            Box::new(|f| f.signer.sign(&f.order(restart("sshd")))),
            "not_allowed_by_policy",
        ),
        (
            "action the policy does not enable",
            Box::new(|f| {
                f.signer.sign(&f.order(ActionParams::ProcessKill {
                    pid: Pid::new(1234).unwrap(),
                }))
            }),
            "not_allowed_by_policy",
        ),
        (
            "password reset of an administrator",
            Box::new(|f| {
                f.signer.sign(&f.order(ActionParams::AccountResetPassword {
                    username: Username::parse("admin").unwrap(),
                }))
            }),
            "not_allowed_by_policy",
        ),
        (
            "password reset of an unknown account",
            Box::new(|f| {
                f.signer.sign(&f.order(ActionParams::AccountResetPassword {
                    username: Username::parse("mallory").unwrap(),
                }))
            }),
            "not_allowed_by_policy",
        ),
        (
            "password reset without consent",
            Box::new(|f| {
                f.signer.sign(&f.order(ActionParams::AccountResetPassword {
                    username: Username::parse("alice").unwrap(),
                }))
            }),
            "needs_user_consent",
        ),
        (
            "password reset on another user's consent",
            Box::new(|f| {
                let order = Order::new("o", DEVICE, reset("alice"), f.now, TimeDelta::minutes(10));
                f.signer.sign(&order.approved(Approval::UserConsent {
                    account: "admin".into(),
                }))
            }),
            "not_approved",
        ),
        (
            "password reset in a version 1 order, which says nothing of approval",
            Box::new(|f| {
                f.signer.sign(&Order::new(
                    "o",
                    DEVICE,
                    reset("alice"),
                    f.now,
                    TimeDelta::minutes(10),
                ))
            }),
            "not_approved",
        ),
        (
            "approval stripped from a version 2 order",
            Box::new(|f| {
                let mut s = f.signer.sign(&f.order(reset("alice")));
                s.order.approval = None;
                s
            }),
            "bad_signature",
        ),
        (
            "approval swapped in a signed order",
            Box::new(|f| {
                let order = Order::new("o", DEVICE, reset("alice"), f.now, TimeDelta::minutes(10));
                let mut s = f.signer.sign(&order.approved(Approval::UserConsent {
                    account: "admin".into(),
                }));
                s.order.approval = Some(Approval::UserConsent {
                    account: "alice".into(),
                });
                s
            }),
            "bad_signature",
        ),
        (
            "malicious parameter, validly signed",
            Box::new(|f| {
                let mut p = f.order(restart("cups")).to_payload();
                p.params.insert("name".into(), json!("foo; rm -rf /"));
                f.signer.sign_payload(p)
            }),
            "invalid_parameters",
        ),
        (
            "unknown action, validly signed",
            Box::new(|f| {
                let mut p = f.order(restart("cups")).to_payload();
                p.action = "shell.exec".into();
                p.params = serde_json::Map::from_iter([("cmd".to_owned(), json!("reboot"))]);
                f.signer.sign_payload(p)
            }),
            "invalid_parameters",
        ),
        (
            "bad nonce, validly signed",
            Box::new(|f| {
                let mut p = f.order(restart("cups")).to_payload();
                p.nonce = "1".into();
                f.signer.sign_payload(p)
            }),
            "invalid_parameters",
        ),
    ];
    for (name, make, code) in cases {
        let f = fixture();
        let signed = make(&f);
        let result = f.verify(&signed);
        let err = result.expect_err(name);
        assert_eq!(err.code(), code, "{name}: {err}");
    }
}

fn reset(account: &str) -> ActionParams {
    ActionParams::AccountResetPassword {
        username: Username::parse(account).unwrap(),
    }
}

#[test]
fn an_account_change_runs_on_its_users_consent_or_a_second_agents_approval() {
    let f = fixture();
    for (id, approval) in [
        (
            "o1",
            Approval::UserConsent {
                account: "alice".into(),
            },
        ),
        ("o2", Approval::SecondAgent),
    ] {
        let order = Order::new(id, DEVICE, reset("alice"), f.now, TimeDelta::minutes(10))
            .approved(approval.clone());
        let signed = f.signer.sign(&order);
        // The approval travels in the JSON and survives the round trip.
        let value = serde_json::to_value(&signed).unwrap();
        assert_eq!(
            value["order"]["approval"],
            serde_json::to_value(&approval).unwrap()
        );
        let back: SignedOrder = serde_json::from_value(value).unwrap();
        let verified = f
            .verifier
            .verify_with_consent(&back, DEVICE, f.now, &f.guard, &f.policy, Consent::Given)
            .unwrap();
        assert_eq!(verified.order().approval, Some(approval));
    }
}

#[test]
fn an_order_refused_for_its_approval_stays_refused() {
    let f = fixture();
    let order = Order::new("o", DEVICE, reset("alice"), f.now, TimeDelta::minutes(10)).approved(
        Approval::UserConsent {
            account: "admin".into(),
        },
    );
    let signed = f.signer.sign(&order);
    let err = f
        .verifier
        .verify_with_consent(&signed, DEVICE, f.now, &f.guard, &f.policy, Consent::Given)
        .unwrap_err();
    assert_eq!(err.code(), "not_approved", "{err}");
    assert!(err.to_string().contains("admin"), "{err}");
    assert_eq!(f.verify(&signed), Err(RejectReason::Replayed));
}

#[test]
fn version_1_orders_of_other_actions_still_verify() {
    let f = fixture();
    let order = Order::new("o", DEVICE, restart("cups"), f.now, TimeDelta::minutes(10));
    let value = serde_json::to_value(f.signer.sign(&order)).unwrap();
    assert!(value["order"].get("approval").is_none(), "{value}");
    let back: SignedOrder = serde_json::from_value(value).unwrap();
    assert!(f.verify(&back).is_ok());
}

#[test]
fn the_skew_tolerance_accepts_small_clock_differences() {
    let f = fixture();
    let early = Order::new(
        "o1",
        DEVICE,
        restart("cups"),
        f.now + TimeDelta::seconds(90),
        TimeDelta::minutes(10),
    );
    assert!(f.verify(&f.signer.sign(&early)).is_ok());
    let late = Order::new(
        "o2",
        DEVICE,
        restart("cups"),
        f.now - TimeDelta::minutes(11),
        TimeDelta::minutes(10),
    );
    assert!(f.verify(&f.signer.sign(&late)).is_ok());
}

#[test]
fn consent_lets_the_same_order_through_once() {
    let f = fixture();
    let signed = f.signer.sign(&f.order(ActionParams::AccountResetPassword {
        username: Username::parse("alice").unwrap(),
    }));
    let first = f.verify(&signed).unwrap_err();
    assert_eq!(
        first,
        RejectReason::NeedsUserConsent {
            action: ActionId::AccountResetPassword
        }
    );
    // Asking did not burn the nonce…
    let verified = f
        .verifier
        .verify_with_consent(&signed, DEVICE, f.now, &f.guard, &f.policy, Consent::Given)
        .unwrap();
    assert!(verified.user_consented());
    // …running did.
    let again =
        f.verifier
            .verify_with_consent(&signed, DEVICE, f.now, &f.guard, &f.policy, Consent::Given);
    assert_eq!(again, Err(RejectReason::Replayed));
}

#[test]
fn a_refused_order_stays_refused_after_the_policy_loosens() {
    let mut f = fixture();
    let signed = f.signer.sign(&f.order(restart("sshd")));
    assert_eq!(
        f.verify(&signed).unwrap_err().code(),
        "not_allowed_by_policy"
    );
    f.policy = Policy::parse("version = 1\n[actions.\"service.restart\"]\n").unwrap();
    assert_eq!(f.verify(&signed), Err(RejectReason::Replayed));
}

#[test]
fn replays_are_refused_after_reopening_the_file_guard() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nonces.json");
    let signed = f.signer.sign(&f.order(restart("cups")));
    {
        let guard = FileReplayGuard::open(&path).unwrap();
        f.verifier
            .verify(&signed, DEVICE, f.now, &guard, &f.policy)
            .unwrap();
    }
    let reopened = FileReplayGuard::open(&path).unwrap();
    assert_eq!(
        f.verifier
            .verify(&signed, DEVICE, f.now, &reopened, &f.policy),
        Err(RejectReason::Replayed)
    );
    // Only the store file is left behind: no temporary files.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["nonces.json"]);
}

#[test]
fn the_file_guard_prunes_expired_nonces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nonces.json");
    let t0 = Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap();
    let guard = FileReplayGuard::open(&path).unwrap();
    let a = new_nonce();
    let b = new_nonce();
    assert_eq!(
        guard.check_and_record(&a, t0 + TimeDelta::minutes(5), t0),
        Ok(NonceStatus::Fresh)
    );
    assert_eq!(
        guard.check_and_record(&a, t0 + TimeDelta::minutes(5), t0),
        Ok(NonceStatus::Replayed)
    );
    // Still remembered within the skew tolerance after expiry, forgotten after.
    assert_eq!(guard.contains(&a, t0 + TimeDelta::minutes(6)), Ok(true));
    let later = t0 + TimeDelta::minutes(8);
    assert_eq!(guard.contains(&a, later), Ok(false));
    guard
        .check_and_record(&b, later + TimeDelta::minutes(5), later)
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(&a), "{text}");
    assert!(text.contains(&b), "{text}");
}

#[test]
fn a_corrupt_or_unwritable_store_fails_closed() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nonces.json");
    std::fs::write(&path, "{not json").unwrap();
    let err = FileReplayGuard::open(&path).unwrap_err();
    assert!(err.0.contains("corrupt"), "{err}");

    let sub = dir.path().join("gone");
    std::fs::create_dir(&sub).unwrap();
    let guard = FileReplayGuard::open(sub.join("nonces.json")).unwrap();
    std::fs::remove_dir(&sub).unwrap();
    let signed = f.signer.sign(&f.order(restart("cups")));
    let err = f
        .verifier
        .verify(&signed, DEVICE, f.now, &guard, &f.policy)
        .unwrap_err();
    assert_eq!(err.code(), "replay_store_unavailable");
}

#[test]
fn signing_keys_round_trip_through_their_secret_form() {
    let signer = OrderSigner::generate().unwrap();
    let secret = signer.to_secret_string();
    assert!(secret.starts_with("deskside-order-signing-key-v1:"));
    let back = OrderSigner::from_secret_string(&secret).unwrap();
    assert_eq!(back.key_id(), signer.key_id());
    assert_eq!(back.public_key_base64(), signer.public_key_base64());
    assert_eq!(signer.key_id().len(), 16);
    assert!(!format!("{signer:?}").contains(&secret[30..]));
    for bad in [
        "",
        "deskside-order-signing-key-v1:",
        "deskside-order-signing-key-v1:AAAA",
        "ed25519:xyz",
    ] {
        assert_eq!(
            OrderSigner::from_secret_string(bad).unwrap_err(),
            KeyError::BadSecret,
            "{bad}"
        );
    }
    assert_ne!(OrderSigner::generate().unwrap().key_id(), signer.key_id());
}

#[test]
fn weak_or_malformed_public_keys_are_not_pinned() {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut identity = [0u8; 32];
    identity[0] = 1; // the identity point: small order
    for bad in [b64(&identity), b64(&[0u8; 31]), "not base64".into()] {
        assert_eq!(
            OrderVerifier::from_public_key_base64(&bad).unwrap_err(),
            KeyError::BadPublicKey,
            "{bad}"
        );
    }
}

#[test]
fn nonces_are_128_random_bits_in_hex() {
    let a = new_nonce();
    assert_eq!(a.len(), 32);
    assert!(is_nonce(&a));
    assert_ne!(a, new_nonce());
    assert!(!is_nonce("00112233445566778899AABBCCDDEEFF"));
}

#[test]
fn reject_reasons_serialise_with_a_stable_code() {
    assert_eq!(
        serde_json::to_value(RejectReason::Replayed).unwrap(),
        json!({"code": "replayed"})
    );
    let v = serde_json::to_value(RejectReason::NotAllowedByPolicy {
        action: ActionId::ServiceRestart,
        reason: "no".into(),
    })
    .unwrap();
    assert_eq!(
        v,
        json!({"code": "not_allowed_by_policy", "action": "service.restart", "reason": "no"})
    );
    let v = serde_json::to_value(RejectReason::InvalidParameters {
        errors: ValidationErrors::single("params.name", "bad"),
    })
    .unwrap();
    assert_eq!(
        v["errors"],
        json!([{"field": "params.name", "message": "bad"}])
    );
}
