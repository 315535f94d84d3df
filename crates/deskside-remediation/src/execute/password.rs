//! Temporary passwords, generated on the endpoint and handed only to the local user.

use rand::Rng;

/// 20 characters from a 55-symbol alphabet: about 115 bits.
pub const TEMPORARY_PASSWORD_LEN: usize = 20;

/// Letters and digits without the look-alikes (0 O o, 1 I i l): the user reads it off a
/// window and types it once. No symbols, so no tool on any platform treats one specially
/// (`:` separates chpasswd's fields, quotes and spaces split dscl's input).
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz";

/// A fresh temporary password with at least one upper-case letter, one lower-case letter
/// and one digit, so complexity rules on every platform accept it.
pub fn generate_temporary_password() -> String {
    // ThreadRng is a CSPRNG (ChaCha12) seeded and periodically reseeded from the OS.
    let mut rng = rand::rng();
    loop {
        let candidate: String = (0..TEMPORARY_PASSWORD_LEN)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        let has = |f: fn(&char) -> bool| candidate.chars().any(|c| f(&c));
        if has(char::is_ascii_uppercase)
            && has(char::is_ascii_lowercase)
            && has(char::is_ascii_digit)
        {
            return candidate;
        }
    }
}

/// A secret for the local user's eyes only: the temporary password of an account. It has
/// no `Serialize` and a redacting `Debug`, so it cannot slip into a report or a log line by
/// accident; the agent hands it to the user's desktop window and nowhere else. Its memory
/// is overwritten when dropped.
pub struct LocalSecret {
    username: String,
    password: String,
}

impl LocalSecret {
    pub(crate) fn new(username: &str, password: String) -> Self {
        Self {
            username: username.to_owned(),
            password,
        }
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    /// The temporary password. Show it to the user; never log, store or send it.
    pub fn expose_password(&self) -> &str {
        &self.password
    }
}

impl std::fmt::Debug for LocalSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSecret")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

impl Drop for LocalSecret {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.password).into_bytes();
        bytes.fill(0);
        // Keeps the compiler from dropping the writes as dead stores.
        std::hint::black_box(&bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_unambiguous_mixed_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let p = generate_temporary_password();
            assert_eq!(p.len(), TEMPORARY_PASSWORD_LEN);
            assert!(p.bytes().all(|b| ALPHABET.contains(&b)), "{p}");
            assert!(!p.contains(['0', 'O', 'o', '1', 'I', 'i', 'l', ':']), "{p}");
            assert!(p.chars().any(|c| c.is_ascii_uppercase()));
            assert!(p.chars().any(|c| c.is_ascii_lowercase()));
            assert!(p.chars().any(|c| c.is_ascii_digit()));
            assert!(seen.insert(p));
        }
    }

    #[test]
    fn debug_never_shows_the_password() {
        let s = LocalSecret::new("alice", "Abcdefgh23456789Jkmn".into());
        let d = format!("{s:?}");
        assert!(!d.contains("Abcdefgh23456789Jkmn"));
        assert!(d.contains("alice"));
    }
}
