//! The `mercado` binary: read `.env`, parse the command line, run the command, and turn any
//! failure into one line on stderr and exit code 1.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mercado::commands;
use mercado::config::Config;
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
    /// Run pending migrations and exit.
    Migrate,
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
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let result = Config::from_env()
        .map_err(commands::StartError::from)
        .and_then(|config| match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => commands::serve(config),
            Command::Migrate => commands::migrate(&config),
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mercado: {err}");
            ExitCode::FAILURE
        }
    }
}
