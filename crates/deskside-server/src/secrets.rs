//! Passwords, session tokens and device credentials.
//!
//! Passwords are hashed with Argon2id. Tokens and credentials are 256 random bits shown to
//! their owner once; the server keeps only their SHA-256, which is enough because they are
//! uniformly random (no dictionary to attack) and lets a request be checked with one lookup.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Argon2id cost. `Strong` follows OWASP's current minimum (19 MiB, 2 passes); `Fast` exists
/// so test suites that create many users stay quick, and is refused outside tests by the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashCost {
    Strong,
    Fast,
}

fn argon2(cost: HashCost) -> Argon2<'static> {
    let params = match cost {
        HashCost::Strong => Params::new(19 * 1024, 2, 1, None),
        HashCost::Fast => Params::new(1024, 1, 1, None),
    }
    .expect("static Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str, cost: HashCost) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt length");
    argon2(cost)
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 hashing with valid parameters does not fail")
        .to_string()
}

/// Verifies against a stored PHC string; its own parameters are used, whatever the cost now.
pub fn verify_password(password: &str, stored_hash: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the user does not exist, so a wrong username costs as much
/// time as a wrong password and does not reveal which usernames exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password never used", HashCost::Strong))
}

/// A fresh random secret with a readable prefix (`dss_` session, `dsd_` device, `dse_`
/// enrollment) so leaked secrets are recognisable by scanners.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub fn validate_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!("must be at most {MAX_PASSWORD_CHARS} characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() {
        let hash = hash_password("correct horse battery", HashCost::Fast);
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterx", &hash));
        assert!(!verify_password("anything", "not a phc string"));
    }

    #[test]
    fn secrets_are_unique_and_hashed_stably() {
        let a = new_secret("dss_");
        let b = new_secret("dss_");
        assert_ne!(a, b);
        assert!(a.starts_with("dss_") && a.len() > 40);
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_ne!(secret_hash(&a), secret_hash(&b));
    }
}
