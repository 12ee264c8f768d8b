//! Password hashing: Argon2id with the crate's default cost (19 MiB, 2 passes), stored as
//! a PHC string. Bounded: at most one hash per two cores (at least one) runs at a time, so
//! password changes never take the whole machine from other requests; on the blocking pool,
//! each in a 19 MiB block buffer that is kept and reused. Without the bound, a burst of
//! password changes hashed in parallel and the allocator kept every buffer: 60 password
//! PATCHes from 4 clients took the gateway to 950 MB (scimgate-bench `writes_under_abuse`).

use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::ServiceError;

struct Hasher {
    permits: Arc<tokio::sync::Semaphore>,
    /// Block buffers of finished hashes, for the next ones (at most one per permit).
    buffers: Mutex<Vec<Vec<Block>>>,
}

fn hasher() -> &'static Hasher {
    static HASHER: OnceLock<Hasher> = OnceLock::new();
    HASHER.get_or_init(|| {
        let slots = hashing_slots();
        Hasher { permits: Arc::new(tokio::sync::Semaphore::new(slots)), buffers: Mutex::new(Vec::with_capacity(slots)) }
    })
}

/// Hashes run at once: half the cores, at least one.
fn hashing_slots() -> usize {
    (std::thread::available_parallelism().map_or(1, usize::from) / 2).max(1)
}

fn internal(what: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("{what}: {e}"))
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), waiting for
/// a free hashing slot. The slot and the buffer belong to the blocking task: a request
/// that is dropped meanwhile (the client hung up) frees neither before the hash ends.
pub async fn hash(password: String) -> Result<String, ServiceError> {
    let h = hasher();
    let permit = h.permits.clone().acquire_owned().await.map_err(|e| internal("hashing slot", e))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let reused = h.buffers.lock().map_err(|e| internal("hash buffers", e))?.pop();
        let mut buffer = reused.unwrap_or_else(|| vec![Block::default(); Params::DEFAULT.block_count()]);
        let result = hash_with(&password, &mut buffer);
        h.buffers.lock().map_err(|e| internal("hash buffers", e))?.push(buffer);
        result
    })
    .await
    .map_err(|e| internal("hashing task", e))?
}

fn hash_with(password: &str, memory: &mut [Block]) -> Result<String, ServiceError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| internal("no randomness", e))?;
    let params = Params::DEFAULT;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
        .map_err(|e| internal("hashing", e))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| internal("salt", e))?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| internal("params", e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| internal("output", e))?),
    };
    Ok(phc.to_string())
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_buffers_are_reused() {
        let a = hash("correct horse".into()).await.unwrap();
        let b = hash("correct horse".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        for phc in [&a, &b] {
            let parsed = PasswordHash::new(phc).unwrap();
            assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
            assert!(Argon2::default().verify_password(b"wrong", &parsed).is_err());
        }
        // Sequential hashes reuse one buffer; concurrent ones never hold more than a
        // buffer per slot.
        let slots = hashing_slots();
        let many: Vec<_> = (0..8 * slots).map(|i| tokio::spawn(hash(format!("p{i}")))).collect();
        for h in many {
            h.await.unwrap().unwrap();
        }
        assert!(hasher().buffers.lock().unwrap().len() <= slots);
    }
}
