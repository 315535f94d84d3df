//! Endpoint side: the checks every order passes before anything runs.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, VerifyingKey};

use super::keys::{KeyError, key_id_of, parse_public_key};
use super::{
    CLOCK_SKEW_TOLERANCE, MAX_ORDER_LIFETIME, NonceStatus, Order, RejectReason, ReplayGuard,
    SignedOrder, VerifiedOrder, signing_bytes,
};
use crate::policy::{Policy, PolicyDecision, SystemUserDirectory, UserDirectory};

/// Whether the local user has agreed to this order (asked by the agent's desktop window
/// after `verify` answered `NeedsUserConsent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    NotGiven,
    Given,
}

/// Holds the server key pinned at enrollment and checks orders against it.
#[derive(Clone)]
pub struct OrderVerifier {
    key: VerifyingKey,
    key_id: String,
    users: Arc<dyn UserDirectory>,
}

impl std::fmt::Debug for OrderVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderVerifier")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl OrderVerifier {
    pub fn new(key: VerifyingKey) -> Self {
        Self {
            key_id: key_id_of(&key),
            key,
            users: Arc::new(SystemUserDirectory::default()),
        }
    }

    /// From the base64 public key the server handed out at enrollment.
    pub fn from_public_key_base64(key: &str) -> Result<Self, KeyError> {
        parse_public_key(key).map(Self::new)
    }

    /// Where policy checks look up whether an account is an administrator.
    pub fn with_user_directory(mut self, users: Arc<dyn UserDirectory>) -> Self {
        self.users = users;
        self
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// [`OrderVerifier::verify_with_consent`] without the user's consent.
    pub fn verify(
        &self,
        signed: &SignedOrder,
        expected_device_id: &str,
        now: DateTime<Utc>,
        replay_guard: &dyn ReplayGuard,
        policy: &Policy,
    ) -> Result<VerifiedOrder, RejectReason> {
        self.verify_with_consent(
            signed,
            expected_device_id,
            now,
            replay_guard,
            policy,
            Consent::NotGiven,
        )
    }

    /// Checks, in this order: key id and signature (nothing in the order is trusted before),
    /// device, validity window, parameters, replay, approval (`check_approval`: an account
    /// changes only with its own user's consent or a second agent's approval), local
    /// policy, consent. On acceptance the
    /// nonce is recorded, so the order never runs twice.
    ///
    /// Also recorded: an authentic, current order refused for its parameters or by policy
    /// (it stays refused even if the policy later loosens), or for its approval. Not recorded: an order waiting
    /// for consent (so it can be verified again once the user agrees), or one refused for
    /// its signature, device or time (nothing authentic and current to remember).
    pub fn verify_with_consent(
        &self,
        signed: &SignedOrder,
        expected_device_id: &str,
        now: DateTime<Utc>,
        replay_guard: &dyn ReplayGuard,
        policy: &Policy,
        consent: Consent,
    ) -> Result<VerifiedOrder, RejectReason> {
        if signed.key_id != self.key_id {
            return Err(RejectReason::UnknownKey {
                key_id: crate::catalog::truncate_for_message(&signed.key_id),
            });
        }
        let signature = STANDARD
            .decode(signed.signature.trim())
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
            .map(|b| Signature::from_bytes(&b))
            .ok_or_else(|| RejectReason::Malformed {
                detail: "signature is not base64 of 64 bytes".into(),
            })?;
        // verify_strict also refuses malleable signatures and small-order keys.
        self.key
            .verify_strict(&signing_bytes(&signed.order), &signature)
            .map_err(|_| RejectReason::BadSignature)?;

        // Authentic from here on: the server said exactly this.
        let payload = &signed.order;
        if payload.device_id != expected_device_id {
            return Err(RejectReason::WrongDevice {
                expected: expected_device_id.to_owned(),
                got: crate::catalog::truncate_for_message(&payload.device_id),
            });
        }
        check_window(payload.issued_at, payload.expires_at, now)?;
        let order = match Order::from_payload(payload) {
            Ok(order) => order,
            Err(errors) => {
                // Unusable nonce: nothing to record, the order is refused all the same.
                if !errors.has_field("nonce") {
                    consume(replay_guard, &payload.nonce, payload.expires_at, now)?;
                }
                return Err(RejectReason::InvalidParameters { errors });
            }
        };
        match replay_guard.contains(&order.nonce, now) {
            Ok(false) => {}
            Ok(true) => return Err(RejectReason::Replayed),
            Err(e) => return Err(RejectReason::ReplayStoreUnavailable { detail: e.0 }),
        }
        let action = order.action.id();
        // Decided on the server and signed; checked again here so that a server mistake (or
        // an order from before approvals were signed) cannot change an account on the say
        // of someone else's consent. Recorded: the order can never become acceptable.
        if let Err(reason) = order.action.check_approval(order.approval.as_ref()) {
            consume(replay_guard, &order.nonce, order.expires_at, now)?;
            return Err(RejectReason::NotApproved { action, reason });
        }
        let consent_required = match policy.evaluate(&order.action, self.users.as_ref()) {
            PolicyDecision::Allowed { consent_required } => consent_required,
            PolicyDecision::Denied { reason } => {
                consume(replay_guard, &order.nonce, order.expires_at, now)?;
                return Err(RejectReason::NotAllowedByPolicy { action, reason });
            }
        };
        if consent_required && consent == Consent::NotGiven {
            return Err(RejectReason::NeedsUserConsent { action });
        }
        consume(replay_guard, &order.nonce, order.expires_at, now)?;
        Ok(VerifiedOrder {
            key_id: self.key_id.clone(),
            user_consented: consent == Consent::Given,
            order,
        })
    }
}

fn check_window(
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), RejectReason> {
    if expires_at <= issued_at {
        return Err(RejectReason::InvalidLifetime {
            detail: "expires before it is issued".into(),
        });
    }
    if expires_at - issued_at > MAX_ORDER_LIFETIME {
        return Err(RejectReason::InvalidLifetime {
            detail: format!(
                "valid for longer than {} days",
                MAX_ORDER_LIFETIME.num_days()
            ),
        });
    }
    if issued_at > now + CLOCK_SKEW_TOLERANCE {
        return Err(RejectReason::NotYetValid { issued_at });
    }
    if now > expires_at + CLOCK_SKEW_TOLERANCE {
        return Err(RejectReason::Expired { expires_at });
    }
    Ok(())
}

fn consume(
    guard: &dyn ReplayGuard,
    nonce: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), RejectReason> {
    match guard.check_and_record(nonce, expires_at, now) {
        Ok(NonceStatus::Fresh) => Ok(()),
        Ok(NonceStatus::Replayed) => Err(RejectReason::Replayed),
        Err(e) => Err(RejectReason::ReplayStoreUnavailable { detail: e.0 }),
    }
}
