//! Builds the application from settings: database, migrations, the bound HTTP server.
//! No globals: tests build as many applications as they like (port 0).

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::api::{self, AppState, native};
use crate::config::Settings;
use crate::service::auth::Bootstrap;
use crate::store::Db;

pub struct Application {
    port: u16,
    server: Server,
    db: Db,
}

impl Application {
    /// Opens (and migrates) the database and binds the listener; the server runs once
    /// [`Application::run_until_stopped`] is awaited.
    pub async fn build(settings: Settings) -> Result<Application, anyhow::Error> {
        let db = Db::open(&settings.database.url, settings.database.pool_size)?;
        let migrating = db.clone();
        let applied = tokio::task::spawn_blocking(move || migrating.migrate()).await??;
        if applied > 0 {
            tracing::info!(applied, "database migrated");
        }
        let listener = TcpListener::bind(&settings.server.bind)
            .map_err(|e| anyhow::anyhow!("cannot bind {}: {e}", settings.server.bind))?;
        let port = listener.local_addr()?.port();
        let max_body = settings.server.max_body_bytes;
        let workers = settings.server.workers;
        let state = web::Data::new(AppState {
            db: db.clone(),
            bootstrap: Bootstrap::new(settings.auth.bootstrap_secret()),
            settings,
        });
        let docs = web::Data::new(api::docs::ApiDocs::generate());
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(TracingLogger::default())
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
        .listen(listener)?;
        if workers > 0 {
            server = server.workers(workers);
        }
        tracing::info!(port, database = %crate::store::conn::redact_url(&db_url(&db)), "scimgate listening");
        Ok(Application { port, server: server.run(), db })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serves until the server stops (SIGINT/SIGTERM: in-flight requests finish first).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn db_url(db: &Db) -> String {
    match db.target() {
        crate::store::Target::Postgres(url) => url.clone(),
        crate::store::Target::Sqlite(path) => path.clone(),
    }
}
