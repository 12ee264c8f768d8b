//! HTTPS (`server.tls.*`): the rustls server configuration, with a certificate that is
//! reloaded without a restart when its files change (polled every
//! `server.tls.reload_interval_ms`) or on SIGHUP. A reload that fails — an unreadable
//! file, a key that does not match, a half-written pair — keeps the certificate in use
//! and logs why; at start-up the same failures stop the gateway with the reason.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// The certificate chain (PEM, end-entity first) and private key (PEM) files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads and checks the pair: a chain of at least one certificate, one private key, and
/// the key matching the first certificate.
pub fn load(files: &TlsFiles) -> Result<CertifiedKey, String> {
    let read = |path: &Path, what: &str| -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|e| format!("server.tls.{what} {}: {e}", path.display()))
    };
    let cert_pem = read(&files.cert, "cert_file")?;
    let key_pem = read(&files.key, "key_file")?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("server.tls.cert_file {}: not a PEM certificate chain ({e})", files.cert.display()))?;
    if chain.is_empty() {
        return Err(format!("server.tls.cert_file {}: holds no certificate", files.cert.display()));
    }
    // Never the parser's own message for the key: it may quote the key's bytes.
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        let why = match e {
            rustls::pki_types::pem::Error::NoItemsFound => "no PEM private key in it",
            _ => "not a readable PEM private key",
        };
        format!("server.tls.key_file {}: {why}", files.key.display())
    })?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| {
        format!(
            "server.tls.key_file {} does not fit server.tls.cert_file {}: {e}",
            files.key.display(),
            files.cert.display()
        )
    })
}

/// The certificate the server presents, swapped in place by a reload.
#[derive(Debug)]
pub struct Reloadable {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files' modification times and sizes when last read.
    seen: RwLock<Option<Stamp>>,
}

type Stamp = [(Option<SystemTime>, u64); 2];

fn stamp(files: &TlsFiles) -> Option<Stamp> {
    let one = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.modified().ok(), m.len()));
    Some([one(&files.cert)?, one(&files.key)?])
}

impl Reloadable {
    /// Loads the pair (start-up: an error stops the gateway).
    pub fn new(files: TlsFiles) -> Result<Arc<Reloadable>, String> {
        let seen = stamp(&files);
        let key = load(&files)?;
        Ok(Arc::new(Reloadable { files, current: RwLock::new(Arc::new(key)), seen: RwLock::new(seen) }))
    }

    /// Reads the files again and, when they hold a good pair, presents it from the next
    /// handshake on; otherwise keeps the current one. Returns whether it changed.
    pub fn reload(&self) -> Result<bool, String> {
        let seen = stamp(&self.files);
        if let Ok(mut s) = self.seen.write() {
            *s = seen;
        }
        let key = load(&self.files)?;
        let mut current = self.current.write().map_err(|_| "the certificate lock is poisoned".to_owned())?;
        let changed = current.cert != key.cert;
        *current = Arc::new(key);
        Ok(changed)
    }

    /// Whether the files changed since they were last read.
    fn changed_on_disk(&self) -> bool {
        let now = stamp(&self.files);
        self.seen.read().map(|s| *s != now).unwrap_or(false)
    }

    /// The rustls configuration presenting this certificate (HTTP/2 and HTTP/1.1 are
    /// offered by ALPN by actix-web).
    pub fn server_config(self: &Arc<Self>) -> rustls::ServerConfig {
        rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map(|b| b.with_no_client_auth().with_cert_resolver(self.clone()))
            .unwrap_or_else(|e| unreachable!("ring supports the default protocol versions: {e}"))
    }
}

impl ResolvesServerCert for Reloadable {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|k| k.clone())
    }
}

fn try_reload(tls: &Reloadable, why: &str) {
    match tls.reload() {
        Ok(true) => tracing::info!(cert = %tls.files.cert.display(), why, "TLS certificate reloaded"),
        Ok(false) => tracing::debug!(why, "TLS files read again: the same certificate"),
        Err(e) => tracing::warn!(error = %e, why, "TLS certificate not reloaded: the current one stays"),
    }
}

/// SIGHUP, caught from start-up on (its default action would end the process).
pub struct Hangups {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangups {
    /// Installs the handler (needs a tokio runtime).
    pub fn catch() -> Hangups {
        Hangups {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok(),
        }
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(s) = self.signal.as_mut()
            && s.recv().await.is_some()
        {
            return;
        }
        std::future::pending::<()>().await
    }
}

/// Reloads the certificate when its files change (checked every `interval`) and on
/// SIGHUP; without TLS, only notes that a SIGHUP has nothing to reload.
pub fn spawn_reloader(
    tls: Option<Arc<Reloadable>>,
    mut hangups: Hangups,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval.max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick(), if tls.is_some() => {
                    if let Some(tls) = tls.as_ref().filter(|t| t.changed_on_disk()) {
                        try_reload(tls, "files changed");
                    }
                }
                () = hangups.next() => match &tls {
                    Some(tls) => try_reload(tls, "SIGHUP"),
                    None => tracing::info!("SIGHUP: no TLS certificate to reload (server.tls is not set)"),
                },
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(dir: &Path, name: &str) -> TlsFiles {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap().self_signed(&key).unwrap();
        let files = TlsFiles { cert: dir.join(format!("{name}.crt")), key: dir.join(format!("{name}.key")) };
        std::fs::write(&files.cert, cert.pem()).unwrap();
        std::fs::write(&files.key, key.serialize_pem()).unwrap();
        files
    }

    #[test]
    fn a_good_pair_loads_and_bad_ones_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let good = pair(dir.path(), "a.test");
        assert!(load(&good).is_ok());
        let other = pair(dir.path(), "b.test");
        let mismatched = TlsFiles { cert: good.cert.clone(), key: other.key.clone() };
        assert!(load(&mismatched).unwrap_err().contains("does not fit"), "{:?}", load(&mismatched).err());
        let missing = TlsFiles { cert: dir.path().join("nope.crt"), key: good.key.clone() };
        assert!(load(&missing).unwrap_err().contains("server.tls.cert_file"));
        std::fs::write(dir.path().join("empty.crt"), "").unwrap();
        let empty = TlsFiles { cert: dir.path().join("empty.crt"), key: good.key.clone() };
        assert!(load(&empty).unwrap_err().contains("holds no certificate"));
        let swapped = TlsFiles { cert: good.key.clone(), key: good.cert.clone() };
        assert!(load(&swapped).is_err());
    }

    #[test]
    fn a_failed_reload_keeps_the_certificate_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let files = pair(dir.path(), "a.test");
        let tls = Reloadable::new(files.clone()).unwrap();
        let before = tls.current.read().unwrap().cert.clone();
        std::fs::write(&files.key, "not a key").unwrap();
        assert!(tls.reload().is_err());
        assert_eq!(tls.current.read().unwrap().cert, before);
        let next = pair(dir.path(), "b.test");
        std::fs::copy(&next.cert, &files.cert).unwrap();
        std::fs::copy(&next.key, &files.key).unwrap();
        assert_eq!(tls.reload(), Ok(true));
        assert_ne!(tls.current.read().unwrap().cert, before);
    }
}
