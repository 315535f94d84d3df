//! Signed orders: the only way an action reaches an endpoint.
//!
//! The server builds an [`Order`] (device, action, nonce, validity window), signs it with
//! [`OrderSigner`] and ships a [`SignedOrder`]. The endpoint, holding the server's public key
//! pinned at enrollment, runs [`OrderVerifier::verify`]: signature, device, time window,
//! parameters, replay, approval (an account changes only with its user's consent or a
//! second agent's approval), local policy and consent, in that order. Only a [`VerifiedOrder`]
//! can be handed to an executor, and only `verify` makes one.

mod canonical;
mod keys;
mod replay;
#[cfg(test)]
mod tests;
mod verify;

use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::catalog::{ActionId, ActionParams, Approval};
use crate::validation::ValidationErrors;

pub use canonical::{DOMAIN as SIGNING_DOMAIN, signing_bytes};
pub use keys::{KeyError, OrderSigner, key_id_of, verify_statement};
pub use replay::{FileReplayGuard, MemoryReplayGuard, NonceStatus, ReplayGuard, ReplayStoreError};
pub use verify::{Consent, OrderVerifier};

/// How far the endpoint's clock may be from the server's: an order issued up to this far in
/// the future is accepted, and one expired less than this long ago still is.
pub const CLOCK_SKEW_TOLERANCE: TimeDelta = TimeDelta::minutes(2);

/// The longest validity window an endpoint accepts. Orders for an offline device wait until
/// expiry, so days are legitimate; longer would let the replay store grow without bound.
pub const MAX_ORDER_LIFETIME: TimeDelta = TimeDelta::days(7);

/// Longest accepted order or device id, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// An order, typed: what the server decided and the endpoint executes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub order_id: String,
    pub device_id: String,
    pub action: ActionParams,
    /// 128 random bits, lowercase hex: what replay protection remembers.
    pub nonce: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Who agreed to it, as the server decided (signed from encoding v2 on). `None` only in
    /// orders from servers that predate it; an action on a local account is then refused.
    pub approval: Option<Approval>,
}

impl Order {
    /// A new order with a fresh random nonce, valid from `issued_at` for `lifetime`.
    pub fn new(
        order_id: impl Into<String>,
        device_id: impl Into<String>,
        action: ActionParams,
        issued_at: DateTime<Utc>,
        lifetime: TimeDelta,
    ) -> Self {
        Self {
            order_id: order_id.into(),
            device_id: device_id.into(),
            action,
            nonce: new_nonce(),
            issued_at,
            expires_at: issued_at + lifetime,
            approval: None,
        }
    }

    /// The same order, saying how it was approved.
    pub fn approved(mut self, approval: Approval) -> Self {
        self.approval = Some(approval);
        self
    }

    /// The wire form (the same JSON object).
    pub fn to_payload(&self) -> OrderPayload {
        OrderPayload {
            order_id: self.order_id.clone(),
            device_id: self.device_id.clone(),
            action: self.action.id().as_str().to_owned(),
            params: self.action.params_json(),
            nonce: self.nonce.clone(),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            approval: self.approval.clone(),
        }
    }

    /// Types a wire payload: checks ids, nonce and parameters. Says nothing about whether it
    /// is authentic; that is [`OrderVerifier::verify`]'s job.
    pub fn from_payload(payload: &OrderPayload) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        check_id(&mut errors, "orderId", &payload.order_id);
        check_id(&mut errors, "deviceId", &payload.device_id);
        if !is_nonce(&payload.nonce) {
            errors.add("nonce", "must be 32 lowercase hexadecimal digits");
        }
        let action = ActionParams::from_parts(
            &payload.action,
            Some(&Value::Object(payload.params.clone())),
        );
        match action {
            Ok(action) if errors.is_empty() => Ok(Self {
                order_id: payload.order_id.clone(),
                device_id: payload.device_id.clone(),
                action,
                nonce: payload.nonce.clone(),
                issued_at: payload.issued_at,
                expires_at: payload.expires_at,
                approval: payload.approval.clone(),
            }),
            Ok(_) => Err(errors),
            Err(more) => {
                errors.0.extend(more.0);
                Err(errors)
            }
        }
    }
}

impl Serialize for Order {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_payload().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Order {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let payload = OrderPayload::deserialize(d)?;
        Order::from_payload(&payload).map_err(serde::de::Error::custom)
    }
}

/// An order as it travels, before verification: the same JSON as [`Order`], with the action
/// and its parameters not yet interpreted. The signature covers this, so the endpoint checks
/// authenticity before it trusts anything inside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderPayload {
    pub order_id: String,
    pub device_id: String,
    pub action: String,
    #[serde(default)]
    pub params: Map<String, Value>,
    pub nonce: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Absent in orders signed with encoding v1 (before approvals were signed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
}

/// What the server sends: the order, its Ed25519 signature (standard base64 of 64 bytes)
/// over [`signing_bytes`], and the id of the signing key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedOrder {
    pub order: OrderPayload,
    pub signature: String,
    pub key_id: String,
}

/// An order that passed every check, and the only thing executors accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedOrder {
    order: Order,
    key_id: String,
    user_consented: bool,
}

impl VerifiedOrder {
    pub fn order(&self) -> &Order {
        &self.order
    }

    pub fn action(&self) -> &ActionParams {
        &self.order.action
    }

    pub fn order_id(&self) -> &str {
        &self.order.order_id
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// True when the local user consented to this order (it needed it, or it was offered).
    pub fn user_consented(&self) -> bool {
        self.user_consented
    }
}

/// Why an endpoint refused an order. `code()` is stable, for reports and the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum RejectReason {
    #[error("malformed order: {detail}")]
    Malformed { detail: String },
    #[error("order signed with key {key_id}, which this endpoint does not trust")]
    UnknownKey { key_id: String },
    #[error("bad signature")]
    BadSignature,
    #[error("order is for device {got}, this is {expected}")]
    WrongDevice { expected: String, got: String },
    #[error("order expired at {expires_at}")]
    Expired { expires_at: DateTime<Utc> },
    #[error("order is not valid before {issued_at}")]
    NotYetValid { issued_at: DateTime<Utc> },
    #[error("order validity window is not acceptable: {detail}")]
    InvalidLifetime { detail: String },
    #[error("order was already received (replayed nonce)")]
    Replayed,
    #[error("invalid parameters: {errors}")]
    InvalidParameters { errors: ValidationErrors },
    #[error("{action} is not allowed by this endpoint's policy: {reason}")]
    NotAllowedByPolicy { action: ActionId, reason: String },
    #[error("{action} needs the local user's consent")]
    NeedsUserConsent { action: ActionId },
    #[error("{action} is not approved by someone entitled to: {reason}")]
    NotApproved { action: ActionId, reason: String },
    #[error("replay protection store unavailable: {detail}")]
    ReplayStoreUnavailable { detail: String },
}

impl RejectReason {
    pub fn code(&self) -> &'static str {
        match self {
            RejectReason::Malformed { .. } => "malformed",
            RejectReason::UnknownKey { .. } => "unknown_key",
            RejectReason::BadSignature => "bad_signature",
            RejectReason::WrongDevice { .. } => "wrong_device",
            RejectReason::Expired { .. } => "expired",
            RejectReason::NotYetValid { .. } => "not_yet_valid",
            RejectReason::InvalidLifetime { .. } => "invalid_lifetime",
            RejectReason::Replayed => "replayed",
            RejectReason::InvalidParameters { .. } => "invalid_parameters",
            RejectReason::NotAllowedByPolicy { .. } => "not_allowed_by_policy",
            RejectReason::NeedsUserConsent { .. } => "needs_user_consent",
            RejectReason::NotApproved { .. } => "not_approved",
            RejectReason::ReplayStoreUnavailable { .. } => "replay_store_unavailable",
        }
    }
}

/// 128 random bits as 32 lowercase hex digits.
pub fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    // ThreadRng is a CSPRNG seeded from the OS; a nonce needs uniqueness, not secrecy.
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn is_nonce(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check_id(errors: &mut ValidationErrors, field: &str, value: &str) {
    if value.is_empty() {
        errors.add(field, "must not be empty");
    } else if value.len() > MAX_ID_LEN {
        errors.add(field, format!("must be at most {MAX_ID_LEN} bytes"));
    } else if value.chars().any(char::is_control) {
        errors.add(field, "must not contain control characters");
    }
}
