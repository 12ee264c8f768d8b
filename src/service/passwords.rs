//! Password hashing: Argon2id with the crate's default cost (19 MiB, 2 passes), stored as
//! a PHC string. Hashes run on their own threads — half the cores, at least one — in
//! reused 19 MiB block buffers (one per hash running at once), at a lower CPU priority (nice +10) than the rest of
//! the gateway: when the cores are busy, request handling and the database writer go first
//! and a password change waits, so a burst of password changes neither takes the machine
//! from other requests nor grows the heap (without the bound, 60 password PATCHes from 4
//! clients took the gateway to 950 MB; scimgate-bench `writes_under_abuse`). A hash whose
//! caller has gone (the client hung up while it queued) is not computed.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

use super::ServiceError;

/// The nice value of the hashing threads (the rest of the gateway runs at the default 0).
pub const HASHING_NICE: i32 = 10;
/// The hashing threads' name, as `ps -L` and `/proc/<pid>/task/*/comm` show it.
pub const HASHING_THREAD: &str = "scimgate-hash";

type Job = (String, oneshot::Sender<Result<String, ServiceError>>);

fn jobs() -> &'static mpsc::Sender<Job> {
    static JOBS: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    JOBS.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..hashing_threads() {
            let rx = Arc::clone(&rx);
            let started = std::thread::Builder::new().name(HASHING_THREAD.into()).spawn(move || hash_jobs(&rx));
            if let Err(e) = started {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        tx
    })
}

/// Hashing threads: half the cores, at least one.
fn hashing_threads() -> usize {
    (std::thread::available_parallelism().map_or(1, usize::from) / 2).max(1)
}

/// One hashing thread: lowers its own priority, then hashes queued passwords one at a time
/// until the gateway exits.
fn hash_jobs(rx: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    loop {
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((password, reply)) = job else { return };
        if reply.is_closed() {
            continue;
        }
        let _ = reply.send(with_buffer(&SPARES, |memory| hash_with(&password, memory)));
    }
}

/// The hashing threads' spare 19 MiB block buffers.
static SPARES: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Runs `f` in a buffer of `spares`, made when none is free: as many buffers as hashes
/// have run at once (at most one per hashing thread), and none before the first hash.
fn with_buffer<T>(spares: &Mutex<Vec<Vec<Block>>>, f: impl FnOnce(&mut [Block]) -> T) -> T {
    let spare = spares.lock().map(|mut s| s.pop()).unwrap_or_default();
    let mut buffer = spare.unwrap_or_else(|| vec![Block::default(); Params::DEFAULT.block_count()]);
    let out = f(&mut buffer);
    if let Ok(mut spares) = spares.lock() {
        spares.push(buffer);
    }
    out
}

/// Sets the calling thread's nice value to [`HASHING_NICE`]. On Linux the nice value
/// belongs to the thread (`who = 0` names the calling thread); elsewhere it would be the
/// whole process's, so hashing keeps the normal priority there.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a plain system call about the calling thread; no memory is passed.
        let lowered = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, HASHING_NICE) };
        if lowered != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "password hashing runs at normal priority");
        }
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("{what}: {e}"))
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) on a hashing
/// thread, waiting behind the hashes queued before it.
pub async fn hash(password: String) -> Result<String, ServiceError> {
    let (reply, answer) = oneshot::channel();
    jobs().send((password, reply)).map_err(|e| internal("hashing queue", e))?;
    answer.await.map_err(|e| internal("hashing thread", e))?
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

    #[test]
    fn buffers_are_reused_and_one_per_hash_running_at_once() {
        let spares = Mutex::new(Vec::new());
        // Two at once need two buffers; afterwards both are spares, reused, not added to.
        let addresses = with_buffer(&spares, |a| with_buffer(&spares, |b| (a.as_ptr() as usize, b.as_ptr() as usize)));
        assert_ne!(addresses.0, addresses.1);
        for _ in 0..3 {
            let again = with_buffer(&spares, |a| a.as_ptr() as usize);
            assert!(again == addresses.0 || again == addresses.1);
        }
        assert_eq!(spares.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn hashes_verify_with_a_fresh_salt_each_time() {
        let a = hash("correct horse".into()).await.unwrap();
        let b = hash("correct horse".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        for phc in [&a, &b] {
            let parsed = PasswordHash::new(phc).unwrap();
            assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
            assert!(Argon2::default().verify_password(b"wrong", &parsed).is_err());
        }
    }

    /// The hashing threads: as many as `hashing_threads()`, whatever the number of hashes
    /// asked for at once, each at the lowered priority (a thread sets it when it starts, so
    /// one not yet scheduled is waited for).
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashes_run_on_a_bounded_set_of_low_priority_threads() {
        let before = nice_of(std::path::Path::new("/proc/thread-self"));
        let many: Vec<_> = (0..6).map(|i| tokio::spawn(hash(format!("p{i}")))).collect();
        for h in many {
            h.await.unwrap().unwrap();
        }
        // The priority is the hashing threads' alone.
        assert_eq!(nice_of(std::path::Path::new("/proc/thread-self")), before);
        let mut nice = Vec::new();
        for _ in 0..100 {
            nice = hashing_thread_nice_values();
            if nice.len() == hashing_threads() && nice.iter().all(|&n| n == HASHING_NICE) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("hashing threads and their nice values: {nice:?}, want {} at {HASHING_NICE}", hashing_threads());
    }

    #[cfg(target_os = "linux")]
    fn hashing_thread_nice_values() -> Vec<i32> {
        let mut nice = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let dir = task.unwrap().path();
            let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else { continue };
            if comm.trim() != HASHING_THREAD {
                continue;
            }
            nice.push(nice_of(&dir));
        }
        nice
    }

    /// The nice value of the thread whose `/proc` directory is `dir`.
    #[cfg(target_os = "linux")]
    fn nice_of(dir: &std::path::Path) -> i32 {
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
        // Fields after the parenthesised name: state is field 3, nice is field 19.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        fields[19 - 3].parse().unwrap()
    }
}
