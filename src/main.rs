//! `dockchatd`: the command line. Parses arguments, sets up tracing, loads the configuration and
//! hands over to `dockchat::app`; errors are reported here with their context (anyhow).

use anyhow::Context;
use clap::{Parser, Subcommand};
use dockchat::ops::config::{Config, DEFAULT_PATH};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "dockchatd",
    version,
    about = "Realtime docked chat for Moodle: the WebSocket daemon"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Serve {
        /// Configuration file.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
    /// Check the configuration, the database, the tables and the secret; exit 0 only if all is OK.
    Check {
        /// Configuration file.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
    /// Print the SQL that gives the configured database user exactly what dockchatd needs
    /// (for the database, user and table prefix of the configuration).
    Grants {
        /// Configuration file.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        /// MariaDB/MySQL: the host part of the account, where dockchatd connects from as the
        /// database server sees it (default: the database_url host, if it is this machine).
        #[arg(long, value_name = "HOST")]
        from: Option<String>,
        /// Print only the statement that creates the account, or only the GRANTs.
        #[arg(long, value_enum)]
        part: Option<Part>,
    },
    /// Try dockchat in a minute: an embedded demo Moodle site and a demo page.
    Demo {
        /// Address to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8765")]
        listen: String,
        /// Use this database instead of a fresh embedded SQLite file.
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
}

/// `dockchatd grants --part`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Part {
    /// CREATE USER / CREATE ROLE.
    Account,
    /// The GRANTs.
    Privileges,
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DOCKCHAT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only on a terminal: journald and log files would keep the escape codes.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
}

fn load_config(path: Option<PathBuf>) -> anyhow::Result<Config> {
    let given = path.is_some();
    let path = path.unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    let config = Config::load(&path, given)
        .with_context(|| format!("loading configuration from {}", path.display()))?;
    config.validate().context("invalid configuration")?;
    Ok(config)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dockchatd: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match cli.command {
        Command::Serve { config } => {
            let config = load_config(config)?;
            dockchat::app::run(config, dockchat::app::Mode::Serve, None).await?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Check { config } => check(config).await,
        Command::Grants { config, from, part } => {
            let config = load_config(config)?;
            let opts = dockchat::ops::check::GrantOptions {
                database_url: config.database_url.clone(),
                table_prefix: config.table_prefix.clone(),
                from_host: from,
                part: match part {
                    None => dockchat::ops::check::GrantPart::All,
                    Some(Part::Account) => dockchat::ops::check::GrantPart::Account,
                    Some(Part::Privileges) => dockchat::ops::check::GrantPart::Privileges,
                },
            };
            let sql = dockchat::ops::check::grants(&opts).map_err(anyhow::Error::msg)?;
            print!("{sql}");
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Demo {
            listen,
            database_url,
        } => {
            dockchat::demo::run(&listen, database_url).await?;
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// `dockchatd check`: prints one line per check; exit status 1 unless everything is OK.
async fn check(path: Option<PathBuf>) -> anyhow::Result<std::process::ExitCode> {
    let given = path.is_some();
    let path = path.unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    let config = match Config::load(&path, given) {
        Ok(c) => c,
        Err(e) => {
            println!("{:<4}  config: {e} ({})", "FAIL", path.display());
            return Ok(std::process::ExitCode::FAILURE);
        }
    };
    if let Err(e) = config.validate() {
        println!("{:<4}  config: {e} ({})", "FAIL", path.display());
        return Ok(std::process::ExitCode::FAILURE);
    }
    println!("{:<4}  config: {} is valid", "ok", path.display());
    let opts = dockchat::ops::check::CheckOptions {
        database_url: config.database_url.clone(),
        table_prefix: config.table_prefix.clone(),
        site_url: config.site_url.clone(),
        token_secret: config.token_secret.clone(),
        check_sessions: config.auth.check_sessions,
        redis_url: config.cluster.redis_url.clone(),
    };
    let report = dockchat::ops::check::run(&opts).await;
    println!("{report}");
    Ok(if report.ok() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}
