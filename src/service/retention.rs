//! Retention (`retention.*`): what grows with use is pruned in the background, in small
//! batches — each its own short write transaction, so a request waits at most for one
//! batch — and counted in `scimgate_pruned_rows_total`. Dead letters and the audit log
//! are kept longer than delivered events; 0 days keeps a kind forever.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;

use super::ServiceError;
use crate::config::RetentionSettings;
use crate::metrics::Metrics;
use crate::store::Db;
use crate::store::retention::{self, Prunable};

/// How long each kind is kept, in days (0: forever).
fn keep_days(s: &RetentionSettings, what: Prunable) -> u32 {
    match what {
        Prunable::Delivered | Prunable::Events => s.events_days,
        Prunable::DeadLetters => s.dead_letters_days,
        Prunable::Audit => s.audit_days,
        Prunable::LoginSessions | Prunable::ConsoleSessions => s.sessions_days,
        Prunable::Activity => s.activity_days,
    }
}

/// One pass over every kind; the rows pruned, by kind.
pub async fn prune_once(db: &Db, s: &RetentionSettings) -> Result<Vec<(Prunable, usize)>, ServiceError> {
    let mut out = vec![];
    let batch = s.batch.max(1) as i64;
    for what in Prunable::ALL {
        let days = keep_days(s, what);
        if days == 0 {
            continue;
        }
        let before = Utc::now() - chrono::Duration::days(i64::from(days));
        let mut total = 0;
        loop {
            let n = db.write(move |conn| Ok::<_, ServiceError>(retention::prune(conn, what, before, batch)?)).await?;
            total += n;
            if (n as i64) < batch {
                break;
            }
            // Let other work run between batches.
            tokio::task::yield_now().await;
        }
        out.push((what, total));
    }
    Ok(out)
}

/// Prunes every `retention.interval_seconds` until aborted.
pub fn spawn(db: Db, s: RetentionSettings, metrics: Arc<Metrics>) -> Option<JoinHandle<()>> {
    if s.interval_seconds == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(s.interval_seconds));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match prune_once(&db, &s).await {
                Ok(report) => {
                    for (what, n) in report {
                        metrics.pruned.with_label_values(&[what.as_str()]).inc_by(n as u64);
                        if n > 0 {
                            tracing::info!(kind = what.as_str(), rows = n, "pruned");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %crate::error::Chain(&e), "pruning failed"),
            }
        }
    }))
}
