//! The bytes an order's Ed25519 signature covers.
//!
//! Version 1, every integer big-endian, every text UTF-8 and length-prefixed:
//!
//! ```text
//! text(s)     = u32(len(s)) ‖ s
//! signing     = text("deskside-order-v1")
//!             ‖ text(orderId) ‖ text(deviceId) ‖ text(action)
//!             ‖ value(params)
//!             ‖ text(nonce)
//!             ‖ i64(issuedAt unix seconds)  ‖ u32(issuedAt nanoseconds)
//!             ‖ i64(expiresAt unix seconds) ‖ u32(expiresAt nanoseconds)
//! value(null)     = "z"
//! value(bool)     = "t" | "f"
//! value(number)   = "n" ‖ text(serde_json's rendering: 42, -7, 1.5)
//! value(string)   = "s" ‖ text(s)
//! value(array)    = "a" ‖ u32(count) ‖ value(item)…
//! value(object)   = "o" ‖ u32(count) ‖ (text(key) ‖ value(v))… with keys in ascending
//!                   byte order
//! ```
//!
//! Version 2 signs who approved the order as well (`approval`): the same fields under
//! `text("deskside-order-v2")`, followed by
//!
//! ```text
//! approval    = text("not_required") | text("second_agent")
//!             | text("user_consent") ‖ text(account)
//! ```
//!
//! An order without `approval` is signed and verified as version 1, byte for byte, so
//! orders already issued keep verifying; one with it can only be version 2, so an approval
//! cannot be stripped or added without breaking the signature. (An endpoint older than v2
//! refuses v2 orders as malformed: their JSON has a field it does not know.)
//!
//! Why not the JSON text itself: JSON has many spellings of one value (key order, spaces,
//! escapes, `Z` versus `+00:00`), and serde_json's map order even depends on a cargo
//! feature another crate may switch on. This encoding is a function of the *meaning*, is
//! unambiguous (every variable part is length- or count-prefixed and typed), and is simple
//! to re-implement in another language. The `keyId` travelling beside the signature is a
//! hint, not signed: a wrong one just fails verification.

use serde_json::Value;

use super::OrderPayload;
use crate::catalog::Approval;

pub const DOMAIN: &str = "deskside-order-v1";
pub const DOMAIN_V2: &str = "deskside-order-v2";

/// The canonical signing bytes of `payload` (see the module documentation).
pub fn signing_bytes(payload: &OrderPayload) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let domain = match payload.approval {
        None => DOMAIN,
        Some(_) => DOMAIN_V2,
    };
    text(&mut out, domain);
    text(&mut out, &payload.order_id);
    text(&mut out, &payload.device_id);
    text(&mut out, &payload.action);
    object(&mut out, &payload.params);
    text(&mut out, &payload.nonce);
    for t in [payload.issued_at, payload.expires_at] {
        out.extend_from_slice(&t.timestamp().to_be_bytes());
        out.extend_from_slice(&t.timestamp_subsec_nanos().to_be_bytes());
    }
    match &payload.approval {
        None => {}
        Some(Approval::NotRequired) => text(&mut out, "not_required"),
        Some(Approval::SecondAgent) => text(&mut out, "second_agent"),
        Some(Approval::UserConsent { account }) => {
            text(&mut out, "user_consent");
            text(&mut out, account);
        }
    }
    out
}

fn len_u32(out: &mut Vec<u8>, n: usize) {
    // Orders are small; a >4 GiB field cannot reach here through an HTTP body limit. Saturating
    // keeps the function total without an error path that can never fire.
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
}

fn text(out: &mut Vec<u8>, s: &str) {
    len_u32(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn object(out: &mut Vec<u8>, map: &serde_json::Map<String, Value>) {
    out.push(b'o');
    len_u32(out, map.len());
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    // Sorted here, whatever order the map iterates in.
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (k, v) in entries {
        text(out, k);
        value(out, v);
    }
}

fn value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(b'z'),
        Value::Bool(true) => out.push(b't'),
        Value::Bool(false) => out.push(b'f'),
        Value::Number(n) => {
            out.push(b'n');
            text(out, &n.to_string());
        }
        Value::String(s) => {
            out.push(b's');
            text(out, s);
        }
        Value::Array(items) => {
            out.push(b'a');
            len_u32(out, items.len());
            for item in items {
                value(out, item);
            }
        }
        Value::Object(map) => object(out, map),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;

    fn payload(params: Value) -> OrderPayload {
        OrderPayload {
            order_id: "o-1".into(),
            device_id: "d-1".into(),
            action: "service.restart".into(),
            params: params.as_object().unwrap().clone(),
            nonce: "00112233445566778899aabbccddeeff".into(),
            issued_at: Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
            expires_at: Utc.with_ymd_and_hms(2025, 1, 2, 3, 14, 5).unwrap(),
            approval: None,
        }
    }

    #[test]
    fn golden_bytes_pin_the_format() {
        // If this changes, every deployed endpoint stops accepting orders: bump DOMAIN instead.
        let bytes = signing_bytes(&payload(json!({"name": "cups"})));
        let expected = [
            &b"\0\0\0\x11deskside-order-v1"[..],
            b"\0\0\0\x03o-1",
            b"\0\0\0\x03d-1",
            b"\0\0\0\x0fservice.restart",
            b"o\0\0\0\x01\0\0\0\x04names\0\0\0\x04cups",
            b"\0\0\0\x2000112233445566778899aabbccddeeff",
            &1_735_787_045_i64.to_be_bytes(),
            &0_u32.to_be_bytes(),
            &1_735_787_645_i64.to_be_bytes(),
            &0_u32.to_be_bytes(),
        ]
        .concat();
        assert_eq!(bytes, expected);
    }

    #[test]
    fn version_2_signs_who_approved_after_the_version_1_fields() {
        let v1 = payload(json!({"username": "dsk_u1"}));
        let mut v2 = v1.clone();
        v2.approval = Some(Approval::UserConsent {
            account: "dsk_u1".into(),
        });
        let v1_bytes = signing_bytes(&v1);
        let v2_bytes = signing_bytes(&v2);
        // Same fields under another domain, then the approval.
        let v1_fields = &v1_bytes[4 + DOMAIN.len()..];
        let expected = [
            &b"\0\0\0\x11deskside-order-v2"[..],
            v1_fields,
            b"\0\0\0\x0cuser_consent",
            b"\0\0\0\x06dsk_u1",
        ]
        .concat();
        assert_eq!(v2_bytes, expected);
        // Each approval signs differently, and none like the unapproved order.
        let mut seen = vec![v1_bytes];
        for approval in [
            Approval::NotRequired,
            Approval::SecondAgent,
            Approval::UserConsent {
                account: "dsk_u2".into(),
            },
            Approval::UserConsent {
                account: "DSK_U1".into(),
            },
        ] {
            let mut p = v1.clone();
            p.approval = Some(approval);
            let bytes = signing_bytes(&p);
            assert!(!seen.contains(&bytes));
            seen.push(bytes);
        }
        assert!(!seen.contains(&v2_bytes));
    }

    #[test]
    fn key_order_and_json_spelling_do_not_matter_but_values_do() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": "x"}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{ "a" : "\u0078", "b" : 1 }"#).unwrap();
        assert_eq!(
            signing_bytes(&payload(a.clone())),
            signing_bytes(&payload(b))
        );
        for changed in [
            json!({"b": 2, "a": "x"}),
            json!({"b": "1", "a": "x"}),
            json!({"b": 1.0, "a": "x"}),
            json!({"b": 1, "a": "x", "c": null}),
            json!({"b": [1], "a": "x"}),
        ] {
            assert_ne!(
                signing_bytes(&payload(a.clone())),
                signing_bytes(&payload(changed.clone())),
                "{changed}"
            );
        }
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let mut p1 = payload(json!({}));
        let mut p2 = p1.clone();
        p1.order_id = "ab".into();
        p1.device_id = "c".into();
        p2.order_id = "a".into();
        p2.device_id = "bc".into();
        assert_ne!(signing_bytes(&p1), signing_bytes(&p2));
    }

    #[test]
    fn sub_second_times_are_covered() {
        let p1 = payload(json!({}));
        let mut p2 = p1.clone();
        p2.expires_at += chrono::TimeDelta::nanoseconds(1);
        assert_ne!(signing_bytes(&p1), signing_bytes(&p2));
    }
}
