//! The `scimgate` command line: serve, migrate, token create.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use scimgate::config::Settings;
use scimgate::domain::{Actor, Role};
use scimgate::service::auth::{self, NewToken};
use scimgate::startup::Application;
use scimgate::store::Db;

#[derive(Parser)]
#[command(name = "scimgate", version, about = "Identity provisioning gateway (SCIM 2.0 + native API)")]
struct Cli {
    /// Configuration file (default: scimgate.toml in the working directory, when present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print its secret (on stdout, this once).
    Create {
        /// admin, delegated_admin, scim or registration
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: Option<String>,
        /// An account the token is scoped to (repeatable).
        #[arg(long = "account", value_name = "ACCOUNT_ID")]
        accounts: Vec<String>,
        /// The site a registration token is bound to.
        #[arg(long = "site", value_name = "SITE_ID")]
        site: Option<String>,
        /// A site a delegated_admin token may put users into (repeatable; default none).
        #[arg(long = "allow-site", value_name = "SITE_ID")]
        allow_sites: Vec<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scimgate: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    scimgate::telemetry::init(&settings.log);
    match run(cli.command, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scimgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> Result<(), anyhow::Error> {
    match command {
        Command::Serve => Application::build(settings).await?.run_until_stopped().await?,
        Command::Migrate => {
            let db = Db::open(&settings.database.url, 1)?;
            let applied = tokio::task::spawn_blocking(move || db.migrate()).await??;
            eprintln!("applied {applied} migration(s)");
        }
        Command::Token { command: TokenCommand::Create { role, name, accounts, site, allow_sites } } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let db = Db::open(&settings.database.url, 1)?;
            let migrating = db.clone();
            tokio::task::spawn_blocking(move || migrating.migrate()).await??;
            let req = NewToken {
                name: name.unwrap_or_else(|| format!("{role} token")),
                role,
                account_ids: accounts,
                site_id: site,
                site_ids: allow_sites,
                requests_per_minute: None,
            };
            let cli = scimgate::policy::access::admin(Actor::cli()).map_err(|e| anyhow::anyhow!("{e}"))?;
            let (_, secret) = auth::create(&db, &cli, req).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{secret}");
        }
    }
    Ok(())
}
