//! Settings: built-in defaults → `scimgate.toml` (or `--config FILE`) → `SCIMGATE__*`
//! environment variables. Secrets are redacted wherever settings are printed.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub log: LogSettings,
    pub scim: ScimSettings,
    pub webhooks: WebhookSettings,
    pub limits: LimitSettings,
    pub rate: RateSettings,
    pub retention: RetentionSettings,
    pub activity: ActivitySettings,
}

/// The operator's activity counts (`activity.*`).
#[derive(Debug, Clone, Deserialize)]
pub struct ActivitySettings {
    /// How often a gateway adds its counts to the database (the most a killed gateway
    /// loses).
    pub flush_interval_ms: u64,
}

/// How long what grows with use is kept (`retention.*`, days; 0: forever).
#[derive(Debug, Clone, Deserialize)]
pub struct RetentionSettings {
    /// Delivered webhook deliveries and the events no delivery needs any more.
    pub events_days: u32,
    /// Dead-lettered deliveries (kept longer: someone may retry them).
    pub dead_letters_days: u32,
    /// Audit records.
    pub audit_days: u32,
    /// Ended (expired or revoked) login-as and console sessions, after their expiry.
    pub sessions_days: u32,
    /// The hourly activity counts of the console's charts (they show 30 days).
    pub activity_days: u32,
    /// How often a gateway prunes (0: never).
    pub interval_seconds: u64,
    /// Rows per delete (each its own short transaction).
    pub batch: u32,
}

/// Request rates (`rate.*`).
#[derive(Debug, Clone, Deserialize)]
pub struct RateSettings {
    /// Failed authentications allowed per client address per minute (0: not throttled).
    pub failed_auth_per_minute: u32,
    /// How many of them may come at once.
    pub failed_auth_burst: u32,
    /// Requests per minute one token may make, unless it has its own quota (0: no quota).
    pub token_requests_per_minute: u32,
}

/// What one request may store or ask for (`limits.*`); see the README's "Limits and abuse".
#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    /// The most bytes of one string value of a SCIM resource (400 `invalidValue`).
    pub max_string_bytes: usize,
    /// The most values of one multi-valued attribute (400 `invalidValue`); group members
    /// are bounded per request instead.
    pub max_values: usize,
    /// The most bytes of a whole stored User or Group, as compact JSON, members excluded (413).
    pub max_resource_bytes: usize,
    /// The most operations of one PATCH request (400 `tooMany`).
    pub max_patch_operations: usize,
    /// The most members one group write adds, removes or replaces (400 `tooMany`).
    pub max_members_per_request: usize,
    /// The most bytes of resources in one list response: past it the page ends early and
    /// `itemsPerPage` says how many it holds.
    pub max_list_bytes: usize,
}

/// Downstream event delivery (`webhooks.*`).
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookSettings {
    /// Permits loopback targets (local use, tests); private, link-local and other
    /// non-public targets stay refused.
    pub allow_loopback: bool,
    /// The deadline of one delivery attempt: resolving, connecting, sending, reading.
    pub timeout_ms: u64,
    /// Attempts before a delivery is dead-lettered.
    pub max_attempts: i64,
    /// The first retry waits about this long; each further one twice as long (with jitter).
    pub backoff_base_ms: u64,
    /// How often an idle dispatcher looks for due deliveries.
    pub poll_interval_ms: u64,
    /// How long a claim on a delivery lasts: an instance that dies mid-delivery loses its
    /// claims after this. Must exceed `timeout_ms`.
    pub lease_seconds: i64,
    /// The most response body read from a receiver; the rest is dropped unread.
    pub max_response_bytes: usize,
    /// Deliveries one instance attempts at once.
    pub concurrency: usize,
    /// 32 random bytes, base64: webhook secrets are stored sealed with it (ChaCha20-Poly1305).
    /// Unset: stored as given. Never logged.
    pub secret_key: Option<SecretString>,
}

impl WebhookSettings {
    /// Refuses settings the dispatcher cannot honour.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_attempts < 1 {
            return Err("webhooks.max_attempts must be at least 1".into());
        }
        if self.timeout_ms == 0 || self.poll_interval_ms == 0 || self.concurrency == 0 {
            return Err("webhooks.timeout_ms, poll_interval_ms and concurrency must be positive".into());
        }
        // A claim must outlive the attempt it covers, or a second instance could claim a
        // delivery that is still being sent.
        if self.lease_seconds.saturating_mul(1000) <= self.timeout_ms as i64 {
            return Err("webhooks.lease_seconds must exceed webhooks.timeout_ms".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ScimSettings {
    /// The license of SCIM-created users that name none (a community license).
    pub default_license: String,
    /// The account of SCIM-created contacts when neither the request nor the token names
    /// one; created on first use.
    pub default_account_name: String,
    /// The most resources one list response holds (ServiceProviderConfig filter.maxResults).
    pub max_results: i64,
    /// The most candidates a filter that cannot be answered from the indexes may examine;
    /// past it the request gets `tooMany`.
    pub max_filter_scan: i64,
    /// The most filter terms that scan the table (`co`/`ew` on indexed attributes, `not`):
    /// each one reads every row; past it the request gets `400 tooMany`.
    pub max_scan_terms: usize,
    /// How many heavy lists (a table scan, an in-memory finish, a page of more than 250
    /// resources) run at once; the others wait their turn. 0: half the cores (at least 1).
    pub heavy_list_slots: usize,
    /// How long a list cursor (RFC 9865) stays valid, in seconds (ServiceProviderConfig
    /// `pagination.cursorTimeout`); an older one gets `400 expiredCursor`.
    pub cursor_timeout_secs: u64,
    pub bulk_max_operations: usize,
    pub bulk_max_payload_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    /// `address:port`; port 0 picks a free port (tests).
    pub bind: String,
    /// The largest request body accepted, in bytes (413 above it).
    pub max_body_bytes: usize,
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
    /// Proxies (addresses or CIDR blocks) whose `X-Forwarded-For`, `-Proto` and `-Host`
    /// are believed; nobody else's are.
    pub trusted_proxies: Vec<String>,
    /// The gateway's URL as clients reach it (`meta.location`, `Location`, the console
    /// cookie's `Secure`); unset: from the request (`Host`, and a trusted proxy's headers).
    pub public_url: Option<String>,
    /// The longest a client may take to send a request's head (408 after it).
    pub header_timeout_ms: u64,
    /// The longest a client may take to send a request's body, once the handler reads it
    /// (408 `request_timeout` after it).
    pub body_timeout_ms: u64,
    /// HTTPS: without a certificate and key, plain HTTP.
    pub tls: TlsSettings,
}

/// `server.tls.*`.
#[derive(Debug, Clone, Deserialize)]
pub struct TlsSettings {
    /// PEM certificate chain, end-entity certificate first.
    pub cert_file: Option<String>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<String>,
    /// How often the two files are checked for a change (then reloaded); SIGHUP reloads at
    /// once.
    pub reload_interval_ms: u64,
}

impl TlsSettings {
    /// The files, when TLS is configured; one without the other is an error.
    pub fn files(&self) -> Result<Option<crate::tls::TlsFiles>, String> {
        let set = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        match (set(&self.cert_file), set(&self.key_file)) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => Ok(Some(crate::tls::TlsFiles { cert: cert.into(), key: key.into() })),
            _ => Err("server.tls.cert_file and server.tls.key_file go together: set both, or neither".to_owned()),
        }
    }
}

#[derive(Clone, Deserialize)]
pub struct DatabaseSettings {
    /// `scimgate.db`, `sqlite://PATH` or `postgres://…`
    pub url: String,
    /// Reader connections (SQLite, beside its one writer) or all connections (PostgreSQL).
    pub pool_size: u32,
    /// The longest one list statement may run (PostgreSQL `statement_timeout`; SQLite: a
    /// per-row deadline check of scanning list statements); past it the request gets
    /// `400` (SCIM `tooMany`, native `query_too_costly`). 0 turns it off.
    pub statement_timeout_ms: u64,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &crate::store::conn::redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("statement_timeout_ms", &self.statement_timeout_ms)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// When set, accepted as an `admin` token. Never logged.
    pub bootstrap_token: Option<SecretString>,
    /// Lifetime of login-as session tokens.
    pub login_as_ttl_seconds: i64,
    /// How long a verified token is trusted without a database read; a revocation made on
    /// another gateway instance takes effect within this time (0 disables the cache).
    pub token_cache_seconds: u64,
}

/// The shortest bootstrap secret accepted: it is an admin credential.
pub const MIN_BOOTSTRAP_CHARS: usize = 32;

impl AuthSettings {
    pub fn bootstrap_secret(&self) -> Option<&str> {
        self.bootstrap_token.as_ref().map(|s| s.expose_secret())
    }

    /// Refuses a bootstrap secret too short to be one (never echoing it).
    pub fn validate(&self) -> Result<(), String> {
        match self.bootstrap_secret() {
            Some(s) if !s.is_empty() && s.chars().count() < MIN_BOOTSTRAP_CHARS => Err(format!(
                "auth.bootstrap_token (SCIMGATE__AUTH__BOOTSTRAP_TOKEN) is {} characters: use at least \
                 {MIN_BOOTSTRAP_CHARS} random characters (e.g. `openssl rand -base64 32`)",
                s.chars().count()
            )),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// `text` (default) or `json`.
    pub format: String,
    /// A tracing filter such as `info` or `scimgate=debug,info`; `RUST_LOG` wins when set.
    pub level: String,
}

fn defaults() -> Result<config::ConfigBuilder<config::builder::DefaultState>, config::ConfigError> {
    config::Config::builder()
        .set_default("server.bind", "127.0.0.1:8080")?
        .set_default("server.max_body_bytes", 1_048_576)?
        .set_default("server.workers", 0)?
        .set_default("server.trusted_proxies", Vec::<String>::new())?
        .set_default("rate.failed_auth_per_minute", 30)?
        .set_default("rate.failed_auth_burst", 10)?
        .set_default("rate.token_requests_per_minute", 0)?
        .set_default("server.header_timeout_ms", 5000)?
        .set_default("server.body_timeout_ms", 10_000)?
        .set_default("server.tls.reload_interval_ms", 5000)?
        .set_default("database.url", "scimgate.db")?
        .set_default("database.pool_size", 8)?
        .set_default("database.statement_timeout_ms", 5000)?
        .set_default("auth.login_as_ttl_seconds", 300)?
        .set_default("auth.token_cache_seconds", 10)?
        .set_default("log.format", "text")?
        .set_default("log.level", "info")?
        .set_default("scim.default_license", "customer_community")?
        .set_default("scim.default_account_name", "SCIM provisioned")?
        .set_default("scim.max_results", 1000)?
        .set_default("scim.max_filter_scan", 20_000)?
        .set_default("scim.max_scan_terms", 4)?
        .set_default("scim.heavy_list_slots", 0)?
        .set_default("scim.cursor_timeout_secs", 3600)?
        .set_default("scim.bulk_max_operations", 1000)?
        .set_default("scim.bulk_max_payload_bytes", 1_048_576)?
        .set_default("limits.max_string_bytes", 16_384)?
        .set_default("limits.max_values", 100)?
        .set_default("limits.max_resource_bytes", 65_536)?
        .set_default("limits.max_patch_operations", 500)?
        .set_default("limits.max_members_per_request", 1000)?
        .set_default("limits.max_list_bytes", 4_194_304)?
        .set_default("retention.events_days", 30)?
        .set_default("retention.dead_letters_days", 90)?
        .set_default("retention.audit_days", 400)?
        .set_default("retention.sessions_days", 1)?
        .set_default("retention.interval_seconds", 600)?
        .set_default("retention.batch", 500)?
        .set_default("retention.activity_days", 35)?
        .set_default("activity.flush_interval_ms", 2000)?
        .set_default("webhooks.allow_loopback", false)?
        .set_default("webhooks.timeout_ms", 5000)?
        .set_default("webhooks.max_attempts", 8)?
        .set_default("webhooks.backoff_base_ms", 1000)?
        .set_default("webhooks.poll_interval_ms", 500)?
        .set_default("webhooks.lease_seconds", 30)?
        .set_default("webhooks.max_response_bytes", 65_536)?
        .set_default("webhooks.concurrency", 16)
}

impl Settings {
    /// Loads the layered settings. `file` is `--config FILE` (then it must exist);
    /// without it `scimgate.toml` in the working directory is read when present.
    pub fn load(file: Option<&Path>) -> Result<Settings, config::ConfigError> {
        let source = match file {
            Some(path) => config::File::from(path).required(true),
            None => config::File::with_name("scimgate.toml").required(false),
        };
        defaults()?
            .add_source(source)
            .add_source(
                config::Environment::with_prefix("SCIMGATE")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("server.trusted_proxies"),
            )
            .build()?
            .try_deserialize()
    }

    /// The built-in defaults alone (tests start from these).
    pub fn defaults() -> Result<Settings, config::ConfigError> {
        defaults()?.build()?.try_deserialize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let s = Settings::defaults().unwrap();
        assert_eq!(s.server.bind, "127.0.0.1:8080");
        assert_eq!(s.database.url, "scimgate.db");
        assert!(s.auth.bootstrap_token.is_none());
        assert!(!s.webhooks.allow_loopback);
        assert_eq!((s.webhooks.timeout_ms, s.webhooks.max_attempts, s.webhooks.lease_seconds), (5000, 8, 30));
        assert!(s.webhooks.validate().is_ok());
    }

    #[test]
    fn a_lease_shorter_than_an_attempt_is_refused() {
        let mut s = Settings::defaults().unwrap();
        s.webhooks.lease_seconds = 5;
        assert!(s.webhooks.validate().is_err());
        s.webhooks.lease_seconds = 6;
        s.webhooks.max_attempts = 0;
        assert!(s.webhooks.validate().is_err());
    }

    #[test]
    fn a_file_overrides_defaults_and_secrets_are_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.toml");
        std::fs::write(
            &path,
            "[server]\nbind = \"127.0.0.1:9999\"\n[database]\nurl = \"postgres://u:pw@h/db\"\n[auth]\nbootstrap_token = \"topsecret\"\n",
        )
        .unwrap();
        let s = Settings::load(Some(&path)).unwrap();
        assert_eq!(s.server.bind, "127.0.0.1:9999");
        assert_eq!(s.auth.bootstrap_secret(), Some("topsecret"));
        let printed = format!("{s:?}");
        assert!(!printed.contains("topsecret"), "{printed}");
        assert!(!printed.contains(":pw@"), "{printed}");
    }

    #[test]
    fn an_explicit_missing_file_is_an_error() {
        assert!(Settings::load(Some(Path::new("/nonexistent/scimgate.toml"))).is_err());
    }
}
