//! Builds the application from settings: database, migrations, the bound HTTP server and
//! the webhook dispatcher. No globals: tests build as many applications as they like (port 0).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use actix_web::middleware::from_fn;

use crate::api::{self, AppState, middleware, native};
use crate::config::{Settings, WebhookSettings};
use crate::metrics::Metrics;
use crate::service::auth::{Bootstrap, TokenCache};
use crate::service::dispatcher::{DeliveryCounters, DispatchConfig, Dispatcher, DispatcherHandle};
use crate::store::Db;

pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    dispatcher: Dispatcher,
    deliveries: Arc<DeliveryCounters>,
    /// Background tasks that end with the server: retention, the TLS certificate watcher.
    background: Vec<tokio::task::AbortHandle>,
    /// SQLite: the shared lock that keeps `scimgate restore` off the database while it is
    /// served (released when the application is dropped).
    _serving: Option<std::fs::File>,
}

/// Stops a running application from outside (tests; signals are handled by the server).
#[derive(Clone)]
pub struct AppHandle {
    server: ServerHandle,
    dispatcher: DispatcherHandle,
    background: Vec<tokio::task::AbortHandle>,
    db: Db,
}

impl AppHandle {
    /// A graceful stop: in-flight requests finish; the dispatcher gives its claims back.
    pub async fn stop(&self) {
        self.dispatcher.stop();
        self.background.iter().for_each(tokio::task::AbortHandle::abort);
        self.server.stop(true).await;
        let _ = crate::service::activity::flush(&self.db).await;
    }

    /// Like a crash of the instance: requests are dropped and the dispatcher's claims stay
    /// until their leases run out.
    pub async fn kill(&self) {
        self.dispatcher.abort();
        self.background.iter().for_each(tokio::task::AbortHandle::abort);
        self.server.stop(false).await;
    }
}

fn dispatch_config(w: &WebhookSettings, sealer: &crate::service::sealing::Sealer) -> DispatchConfig {
    DispatchConfig {
        allow_loopback: w.allow_loopback,
        timeout: Duration::from_millis(w.timeout_ms),
        max_attempts: w.max_attempts,
        backoff_base: Duration::from_millis(w.backoff_base_ms),
        poll_interval: Duration::from_millis(w.poll_interval_ms),
        lease: Duration::from_secs(w.lease_seconds.max(1) as u64),
        max_response_bytes: w.max_response_bytes,
        concurrency: w.concurrency,
        sealer: sealer.clone(),
    }
}

impl Application {
    /// Opens (and migrates) the database and binds the listener; the server runs once
    /// [`Application::run_until_stopped`] is awaited.
    pub async fn build(settings: Settings) -> Result<Application, anyhow::Error> {
        settings.webhooks.validate().map_err(anyhow::Error::msg)?;
        settings.auth.validate().map_err(anyhow::Error::msg)?;
        let network =
            api::client::Network::new(&settings.server.trusted_proxies, settings.server.public_url.as_deref())
                .map_err(anyhow::Error::msg)?;
        let throttle = Arc::new(api::throttle::Throttle::new(&settings.rate));
        let heavy_slots = match settings.scim.heavy_list_slots {
            0 => std::thread::available_parallelism().map(|n| (n.get() / 2).max(1)).unwrap_or(1),
            n => n,
        };
        // SIGHUP reloads the TLS certificate; caught from the start, so that a reload signal
        // during a long migration (or without TLS) never ends the process.
        let hangups = crate::tls::Hangups::catch();
        // TLS first: a bad certificate or key stops start-up before the database is touched.
        let tls = match settings.server.tls.files().map_err(anyhow::Error::msg)? {
            Some(files) => Some(crate::tls::Reloadable::new(files).map_err(anyhow::Error::msg)?),
            None => None,
        };
        // SQLite: the serving lock before the first connection, so that a gateway never
        // opens a file a restore is replacing.
        let serving = crate::store::maintenance::lock_sqlite_for_use(&settings.database.url)?;
        let db =
            Db::open_with(&settings.database.url, settings.database.pool_size, settings.database.statement_timeout_ms)?;
        let migrating = db.clone();
        let applied = tokio::task::spawn_blocking(move || migrating.migrate()).await??;
        if applied > 0 {
            tracing::info!(applied, "database migrated");
        }
        let tls_reload = Duration::from_millis(settings.server.tls.reload_interval_ms);
        let activity_flush = Duration::from_millis(settings.activity.flush_interval_ms);
        crate::service::users::backfill_folded_names(&db).await?;
        let listener = TcpListener::bind(&settings.server.bind)
            .map_err(|e| anyhow::anyhow!("cannot bind {}: {e}", settings.server.bind))?;
        let port = listener.local_addr()?.port();
        let max_body = settings.server.max_body_bytes;
        let workers = settings.server.workers;
        let header_timeout = Duration::from_millis(settings.server.header_timeout_ms.max(1));
        let token_ttl = std::time::Duration::from_secs(settings.auth.token_cache_seconds);
        let deliveries = Arc::new(DeliveryCounters::default());
        let sealer = crate::service::sealing::Sealer::new(
            settings.webhooks.secret_key.as_ref().map(secrecy::ExposeSecret::expose_secret),
        )?;
        crate::service::webhooks::seal_stored_secrets(&db, &sealer).await.map_err(|e| match e {
            crate::error::ServiceError::Internal(cause) => cause,
            other => anyhow::Error::new(other),
        })?;
        let dispatcher =
            Dispatcher::spawn(db.clone(), dispatch_config(&settings.webhooks, &sealer), deliveries.clone())?;
        let metrics = Metrics::new()?;
        let pruner = crate::service::retention::spawn(db.clone(), settings.retention.clone(), metrics.clone())
            .map(|t| t.abort_handle());
        let state = web::Data::new(AppState {
            db: db.clone(),
            bootstrap: Bootstrap::new(settings.auth.bootstrap_secret()),
            settings,
            metrics,
            tokens: std::sync::Arc::new(TokenCache::new(token_ttl)),
            deliveries: deliveries.clone(),
            throttle,
            sealer,
            heavy_lists: Arc::new(tokio::sync::Semaphore::new(heavy_slots)),
            network: Arc::new(network),
        });
        let docs = web::Data::new(api::swagger_ui::ApiDocs::generate());
        let https = tls.is_some();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::Condition::new(
                    https,
                    // Browsers keep to HTTPS for this host once they have seen it over TLS.
                    actix_web::middleware::DefaultHeaders::new()
                        .add((actix_web::http::header::STRICT_TRANSPORT_SECURITY, "max-age=31536000")),
                ))
                .wrap(from_fn(middleware::error_bodies))
                .wrap(from_fn(middleware::observe))
                .wrap(TracingLogger::<middleware::RequestSpan>::new())
                .wrap(from_fn(middleware::request_id))
                .wrap(from_fn(middleware::canonical_request))
                .app_data(state.clone())
                .app_data(docs.clone())
                .app_data(native::json_config(max_body))
                .app_data(native::query_config())
                .app_data(native::path_config())
                .app_data(web::PayloadConfig::new(max_body))
                .configure(api::configure)
                .default_service(web::to(native::not_found))
        })
        .shutdown_timeout(30)
        .client_request_timeout(header_timeout);
        let mut server = match &tls {
            Some(tls) => server.listen_rustls_0_23(listener, tls.server_config())?,
            None => server.listen(listener)?,
        };
        if workers > 0 {
            server = server.workers(workers);
        }
        let reloader = Some(crate::tls::spawn_reloader(tls, hangups, tls_reload).abort_handle());
        let flusher = Some(crate::service::activity::spawn_flusher(db.clone(), activity_flush).abort_handle());
        let background = pruner.into_iter().chain(reloader).chain(flusher).collect();
        tracing::info!(port, https, database = %crate::store::conn::redact_url(&db_url(&db)), "scimgate listening");
        Ok(Application { port, server: server.run(), db, dispatcher, deliveries, background, _serving: serving })
    }

    /// A handle that stops this application once it runs.
    pub fn handle(&self) -> AppHandle {
        AppHandle {
            server: self.server.handle(),
            dispatcher: self.dispatcher.handle(),
            background: self.background.clone(),
            db: self.db.clone(),
        }
    }

    /// This instance's webhook delivery counters.
    pub fn deliveries(&self) -> Arc<DeliveryCounters> {
        self.deliveries.clone()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serves until the server stops (SIGINT/SIGTERM: in-flight requests finish first),
    /// then stops the dispatcher, which gives its unfinished claims back.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.background.iter().for_each(tokio::task::AbortHandle::abort);
        let _ = crate::service::activity::flush(&self.db).await;
        self.dispatcher.shutdown().await;
        served
    }
}

fn db_url(db: &Db) -> String {
    match db.target() {
        crate::store::Target::Postgres(url) => url.clone(),
        crate::store::Target::Sqlite(path) => path.clone(),
    }
}
