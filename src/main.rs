//! The `scimgate` command line: serve, migrate, token create.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use scimgate::config::Settings;
use scimgate::domain::{Actor, Role};
use scimgate::service::auth::{self, NewToken};
use scimgate::service::maintenance;
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
    /// Apply pending database migrations and exit; with --check, apply nothing and exit 1
    /// when some are pending (for deploy scripts).
    Migrate {
        #[arg(long)]
        check: bool,
    },
    /// Copy the SQLite database to FILE while the gateway serves (a consistent snapshot).
    Backup {
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Put a backup in place of the SQLite database (the gateway stopped); run `verify`
    /// after it.
    Restore {
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Replace the existing database.
        #[arg(long)]
        force: bool,
    },
    /// Check the invariants the database must hold; print what is wrong and exit 1.
    Verify,
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

fn main() -> ExitCode {
    bound_malloc_arenas();
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(cli_main()),
        Err(e) => {
            eprintln!("scimgate: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// glibc gives each thread that allocates its own malloc arena, up to 8 per core, and an
/// arena keeps what it once held: under a burst of large list pages rendered on the
/// blocking pool, resident memory grew with the number of threads rather than with the
/// work in flight. Four arenas per core keep `reads_under_abuse` at about 220 MB; one per
/// core kept it at 140 MB but made ordinary list pages 25 % slower (allocator lock
/// contention) and bystanders' p99 twice as long (BENCHMARKS.md).
fn bound_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let arenas = libc::c_int::try_from(cores * 4).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets an allocator parameter; called before any other thread
        // exists, with a valid parameter and value.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}

async fn cli_main() -> ExitCode {
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
        Ok(code) => code,
        Err(e) => {
            eprintln!("scimgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> Result<ExitCode, anyhow::Error> {
    // The operator's commands read whole tables: no statement time limit for them.
    let open = |url: &str| Db::open_with(url, 1, 0);
    match command {
        Command::Serve => Application::build(settings).await?.run_until_stopped().await?,
        Command::Migrate { check: true } => {
            maintenance::require_existing(&settings.database.url)?;
            let pending = maintenance::pending_migrations(&open(&settings.database.url)?).await?;
            if !pending.is_empty() {
                println!("{} migration(s) pending: {}", pending.len(), pending.join(", "));
                return Ok(ExitCode::from(1));
            }
            println!("no migration pending");
        }
        Command::Migrate { check: false } => {
            let _lock = scimgate::store::maintenance::lock_sqlite_for_use(&settings.database.url)?;
            let db = open(&settings.database.url)?;
            let applied = tokio::task::spawn_blocking(move || db.migrate()).await??;
            eprintln!("applied {applied} migration(s)");
        }
        Command::Backup { to, force } => {
            let report = maintenance::backup(&settings.database.url, &to, force).await?;
            println!("backed up {} user(s) to {} ({} bytes)", report.users, to.display(), report.bytes);
        }
        Command::Restore { from, force } => {
            let report = maintenance::restore(&settings.database.url, &from, force)?;
            let pending = match report.pending {
                0 => String::new(),
                n => format!(" ({n} migration(s) pending: `scimgate migrate` or `serve` applies them)"),
            };
            println!("restored {} user(s) from {}{pending}; run `scimgate verify`", report.users, from.display());
        }
        Command::Verify => {
            maintenance::require_existing(&settings.database.url)?;
            let report = maintenance::verify(&open(&settings.database.url)?).await?;
            if !report.pending_migrations.is_empty() {
                println!(
                    "{} migration(s) pending: {} (`scimgate migrate`)",
                    report.pending_migrations.len(),
                    report.pending_migrations.join(", ")
                );
            }
            for (what, rows) in &report.broken {
                println!("broken: {what} ({rows} row(s))");
            }
            if !report.holds() {
                return Ok(ExitCode::from(1));
            }
            println!("ok: {} user(s), {} group(s); every invariant holds", report.users, report.groups);
        }
        Command::Token { command: TokenCommand::Create { role, name, accounts, site, allow_sites } } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let _lock = scimgate::store::maintenance::lock_sqlite_for_use(&settings.database.url)?;
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
    Ok(ExitCode::SUCCESS)
}
