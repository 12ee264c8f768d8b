//! Logging: tracing to stderr, human-readable or JSON (`log.format`). Stdout stays for
//! command output (a new token's secret).

use tracing_subscriber::EnvFilter;

use crate::config::LogSettings;

pub fn init(log: &LogSettings) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&log.level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests) keeps the first subscriber: ignoring that error is deliberate.
    let _ = if log.format.eq_ignore_ascii_case("json") { builder.json().try_init() } else { builder.try_init() };
}
