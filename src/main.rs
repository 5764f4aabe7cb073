//! The `mercado` binary: read `.env`, parse the command line, run the command, and turn any
//! failure into one line on stderr and exit code 1.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use mercado::commands::{self, MigrateAction};
use mercado::config::{Config, LogFormat};
use mercado::seed::generate::Shape;
use mercado::seed::LoadMethod;
use tracing_subscriber::EnvFilter;

/// Mercado: the textbook's shop as a REST API on Diesel (SQLite or PostgreSQL).
///
/// Settings come from the environment and from a `.env` file; see `.env.example`.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run pending migrations, then serve HTTP until Ctrl-C or SIGTERM (the default).
    Serve,
    /// Run pending migrations and exit; or, with a flag, list them or revert the newest.
    Migrate {
        /// List every migration this binary embeds as applied or pending, and change nothing.
        #[arg(long, conflicts_with = "revert")]
        status: bool,
        /// Revert the newest applied migration (run its down.sql).
        #[arg(long)]
        revert: bool,
        /// With --revert: go ahead even though the database has customers.
        #[arg(long, requires = "revert")]
        yes: bool,
    },
    /// Load a deterministic shop: the same arguments give the same rows on every backend.
    Seed {
        /// How many customers to create.
        #[arg(long, default_value_t = 1000)]
        customers: u64,
        /// Orders per customer on average: N × M orders in all, spread unevenly (some customers
        /// have none, a few have many).
        #[arg(long, default_value_t = 5)]
        orders_per_customer: u64,
        /// The seed of the random generator.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Empty every table and restart the ids first (otherwise the rows are appended).
        #[arg(long)]
        reset: bool,
        /// How rows are sent; by default COPY on PostgreSQL, multi-row INSERT on SQLite.
        #[arg(long, value_enum)]
        method: Option<Method>,
    },
    /// Run the four dashboard strategies at several page sizes and print statements and
    /// milliseconds for each (seeds a demo shop first if the database is empty).
    Demo,
    /// Print the OpenAPI description that `GET /openapi.json` serves.
    Openapi,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Method {
    /// Multi-row INSERT statements sized to the bind-parameter limit.
    Insert,
    /// PostgreSQL's COPY FROM STDIN (binary).
    Copy,
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), as text for people or, with
/// `MERCADO_LOG_FORMAT=json`, one JSON object per line for a log pipeline. Lines are written
/// in batches by a thread of their own ([`mercado::logging`]); the returned flusher writes
/// what is left when `main` drops it. Colours only on a terminal: escape codes in a log file
/// are noise, and drawing them showed up in a profile of `GET /customers/{id}`
/// (docs/BENCHMARKS.md).
fn init_logging(format: LogFormat) -> std::io::Result<mercado::logging::Flusher> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, flusher) = mercado::logging::batched(std::io::stderr())?;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    Ok(flusher)
}

fn main() -> ExitCode {
    // Before anything else, and before any thread exists: setting environment variables while
    // other threads may read them is not sound.
    if let Err(err) = dotenvy::dotenv() {
        if !err.not_found() {
            eprintln!("mercado: .env: {err}");
            return ExitCode::FAILURE;
        }
    }
    let cli = Cli::parse();

    // The spec depends on the code alone: it needs no settings and no database.
    if let Some(Command::Openapi) = cli.command {
        println!("{}", mercado::openapi::json());
        return ExitCode::SUCCESS;
    }

    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("mercado: {err}");
            return ExitCode::FAILURE;
        }
    };
    let log_writer = match init_logging(config.log_format) {
        Ok(flusher) => flusher,
        Err(err) => {
            eprintln!("mercado: cannot start the log writer: {err}");
            return ExitCode::FAILURE;
        }
    };

    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => commands::serve(config),
        Command::Migrate {
            status,
            revert,
            yes,
        } => {
            let action = match (status, revert) {
                (true, _) => MigrateAction::Status,
                (false, true) => MigrateAction::Revert { confirmed: yes },
                (false, false) => MigrateAction::Apply,
            };
            commands::migrate(&config, action)
        }
        Command::Seed {
            customers,
            orders_per_customer,
            seed,
            reset,
            method,
        } => {
            let shape = Shape {
                customers,
                orders_per_customer,
                seed,
            };
            let method = method.map(|m| match m {
                Method::Insert => LoadMethod::Insert,
                Method::Copy => LoadMethod::Copy,
            });
            commands::seed(&config, shape, reset, method)
        }
        Command::Demo => commands::demo(&config),
        Command::Openapi => Ok(()),
    };
    // The log lines still queued are written before the closing error, in the order they came.
    drop(log_writer);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mercado: {err}");
            ExitCode::FAILURE
        }
    }
}
