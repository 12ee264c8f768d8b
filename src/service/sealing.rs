//! Webhook secrets at rest: sealed with ChaCha20-Poly1305 under `webhooks.secret_key`
//! (32 random bytes, base64), each with its own random nonce, stored as
//! `sg1:<base64(nonce ‖ ciphertext)>`. Without a key they are stored as given (the README
//! says what protects them then). A stored value without the prefix is read as plain
//! text, so a gateway that gets a key seals the existing secrets at start.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

const PREFIX: &str = "sg1:";

/// Seals and opens webhook secrets; `None`: no key configured.
#[derive(Clone, Default)]
pub struct Sealer(Option<Key>);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Sealer(key)" } else { "Sealer(none)" })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("webhooks.secret_key must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)")]
    BadKey,
    #[error("a webhook secret is sealed, and no webhooks.secret_key (or another one) is configured")]
    CannotOpen,
    #[error("no randomness for a nonce")]
    NoRandomness,
}

impl Sealer {
    pub fn new(key_b64: Option<&str>) -> Result<Sealer, SealError> {
        let Some(k) = key_b64.map(str::trim).filter(|k| !k.is_empty()) else {
            return Ok(Sealer(None));
        };
        let bytes = STANDARD.decode(k).map_err(|_| SealError::BadKey)?;
        if bytes.len() != 32 {
            return Err(SealError::BadKey);
        }
        Ok(Sealer(Some(*Key::from_slice(&bytes))))
    }

    pub fn has_key(&self) -> bool {
        self.0.is_some()
    }

    /// What to store for `secret`.
    pub fn seal(&self, secret: &str) -> Result<String, SealError> {
        let Some(key) = &self.0 else {
            return Ok(secret.to_owned());
        };
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|_| SealError::NoRandomness)?;
        let sealed = ChaCha20Poly1305::new(key)
            .encrypt(Nonce::from_slice(&nonce), secret.as_bytes())
            .map_err(|_| SealError::NoRandomness)?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// The secret a stored value holds.
    pub fn open(&self, stored: &str) -> Result<String, SealError> {
        let Some(body) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let key = self.0.as_ref().ok_or(SealError::CannotOpen)?;
        let bytes = STANDARD.decode(body).map_err(|_| SealError::CannotOpen)?;
        if bytes.len() < 12 {
            return Err(SealError::CannotOpen);
        }
        let (nonce, sealed) = bytes.split_at(12);
        let plain =
            ChaCha20Poly1305::new(key).decrypt(Nonce::from_slice(nonce), sealed).map_err(|_| SealError::CannotOpen)?;
        String::from_utf8(plain).map_err(|_| SealError::CannotOpen)
    }

    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let s = Sealer::new(Some(KEY)).unwrap();
        let sealed = s.seal("whsec_abc").unwrap();
        assert!(sealed.starts_with("sg1:") && !sealed.contains("whsec_abc"));
        assert_ne!(sealed, s.seal("whsec_abc").unwrap(), "a fresh nonce each time");
        assert_eq!(s.open(&sealed).unwrap(), "whsec_abc");
        assert!(Sealer::new(None).unwrap().open(&sealed).is_err());
        let other = Sealer::new(Some("ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=")).unwrap();
        assert!(other.open(&sealed).is_err());
        // Plain values (stored before a key was configured) read as they are.
        assert_eq!(s.open("whsec_plain").unwrap(), "whsec_plain");
        assert_eq!(Sealer::new(None).unwrap().seal("x").unwrap(), "x");
        assert!(Sealer::new(Some("c2hvcnQ=")).is_err());
    }
}
