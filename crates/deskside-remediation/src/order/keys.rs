//! The server's order-signing key. Ed25519 through `ed25519-dalek`; nothing hand-rolled.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand::TryRngCore;
use sha2::{Digest, Sha256};

use super::{Order, OrderPayload, SignedOrder, signing_bytes};

/// Prefix of a stored secret key, so a leaked string says what it is and a wrong file is
/// refused rather than misread.
const SECRET_PREFIX: &str = "deskside-order-signing-key-v1:";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    #[error("not a Deskside order-signing key (expected `{SECRET_PREFIX}<base64>`)")]
    BadSecret,
    #[error("not an Ed25519 public key (expected base64 of 32 bytes)")]
    BadPublicKey,
}

/// The key's short public identifier: the first 8 bytes of SHA-256 of the 32-byte public
/// key, as 16 hex digits. Lets a server rotate keys and an endpoint say which it trusts.
pub fn key_id_of(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// Server side: holds the private key, signs orders.
pub struct OrderSigner {
    key: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for OrderSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl OrderSigner {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut seed)
            .map_err(|e| KeyError::Random(e.to_string()))?;
        let signer = Self::from_seed(&seed);
        seed.fill(0);
        Ok(signer)
    }

    fn from_seed(seed: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(seed);
        let key_id = key_id_of(&key.verifying_key());
        Self { key, key_id }
    }

    /// Reads a key stored with [`OrderSigner::to_secret_string`].
    pub fn from_secret_string(secret: &str) -> Result<Self, KeyError> {
        let encoded = secret
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(KeyError::BadSecret)?;
        let mut bytes = STANDARD.decode(encoded).map_err(|_| KeyError::BadSecret)?;
        let seed: Result<[u8; 32], _> = bytes.as_slice().try_into();
        let result = seed
            .map(|s| Self::from_seed(&s))
            .map_err(|_| KeyError::BadSecret);
        bytes.fill(0);
        result
    }

    /// The private key as text, for storage as a secret (file readable only by the server's
    /// user, or a secret store). Whoever holds it can order every enrolled endpoint.
    pub fn to_secret_string(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(self.key.to_bytes()))
    }

    /// The public key (standard base64 of 32 bytes) that endpoints pin at enrollment.
    pub fn public_key_base64(&self) -> String {
        STANDARD.encode(self.key.verifying_key().as_bytes())
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn sign(&self, order: &Order) -> SignedOrder {
        self.sign_payload(order.to_payload())
    }

    /// Signs a statement that is not an order (the server's audit checkpoints), as base64.
    /// The signed bytes are `u32(len(domain)) ‖ domain ‖ message`, the same framing an
    /// order's bytes begin with under their own domain, so no statement can ever verify as
    /// an order. Panics on the order domain: a caller bug, not an input.
    pub fn sign_statement(&self, domain: &str, message: &[u8]) -> String {
        STANDARD.encode(self.key.sign(&statement_bytes(domain, message)).to_bytes())
    }

    /// Signs a wire payload exactly as given, valid or not. A server signs with
    /// [`OrderSigner::sign`], which only takes a typed (hence valid) order; this exists so
    /// tests can prove that endpoints refuse what a buggy or compromised server might sign.
    pub fn sign_payload(&self, payload: OrderPayload) -> SignedOrder {
        let signature = self.key.sign(&signing_bytes(&payload));
        SignedOrder {
            order: payload,
            signature: STANDARD.encode(signature.to_bytes()),
            key_id: self.key_id.clone(),
        }
    }
}

/// Whether `signature` (base64) is `key`'s signature of `message` under `domain`, as
/// [`OrderSigner::sign_statement`] makes them.
pub fn verify_statement(key: &VerifyingKey, domain: &str, message: &[u8], signature: &str) -> bool {
    let Ok(bytes) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(signature) = ed25519_dalek::Signature::from_slice(&bytes) else {
        return false;
    };
    key.verify_strict(&statement_bytes(domain, message), &signature)
        .is_ok()
}

fn statement_bytes(domain: &str, message: &[u8]) -> Vec<u8> {
    assert_ne!(
        domain,
        super::SIGNING_DOMAIN,
        "statements never use the order domain"
    );
    let mut bytes = Vec::with_capacity(4 + domain.len() + message.len());
    bytes.extend_from_slice(
        &u32::try_from(domain.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    bytes.extend_from_slice(domain.as_bytes());
    bytes.extend_from_slice(message);
    bytes
}

pub(super) fn parse_public_key(base64: &str) -> Result<VerifyingKey, KeyError> {
    let bytes = STANDARD
        .decode(base64.trim())
        .map_err(|_| KeyError::BadPublicKey)?;
    let bytes: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| KeyError::BadPublicKey)?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::BadPublicKey)?;
    // A small-order key verifies forged signatures on some messages: never pin one.
    if key.is_weak() {
        return Err(KeyError::BadPublicKey);
    }
    Ok(key)
}

#[cfg(test)]
mod statement_tests {
    use super::*;

    #[test]
    fn statements_verify_under_their_own_domain_only() {
        let signer = OrderSigner::generate().unwrap();
        let other = OrderSigner::generate().unwrap();
        let key = signer.verifying_key();
        let signature = signer.sign_statement("deskside-test-v1", b"head 42");
        assert!(verify_statement(
            &key,
            "deskside-test-v1",
            b"head 42",
            &signature
        ));
        assert!(!verify_statement(
            &key,
            "deskside-test-v1",
            b"head 43",
            &signature
        ));
        assert!(!verify_statement(
            &key,
            "deskside-test-v2",
            b"head 42",
            &signature
        ));
        assert!(!verify_statement(
            &other.verifying_key(),
            "deskside-test-v1",
            b"head 42",
            &signature
        ));
        assert!(!verify_statement(
            &key,
            "deskside-test-v1",
            b"head 42",
            "not base64"
        ));
    }

    #[test]
    #[should_panic(expected = "order domain")]
    fn the_order_domain_is_never_used_for_a_statement() {
        let signer = OrderSigner::generate().unwrap();
        signer.sign_statement(super::super::SIGNING_DOMAIN, b"anything");
    }
}
