//! What the command line runs: `serve`, `migrate` and `seed`. `main.rs` parses the arguments and calls
//! one of these; each returns a [`StartError`] that `main` prints as one line.

use std::net::TcpListener;

use crate::config::{Config, ConfigError};
use crate::db::{self, DbTarget, MigrationError};
use crate::seed::{self, LoadMethod, SeedError, SeedOptions};

/// Why the program could not do what it was asked. Each message is one line for a human.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("DATABASE_URL: {0}")]
    DatabaseUrl(String),
    #[error("cannot connect to the {backend} database: {reason}")]
    Connect {
        backend: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Migration(#[from] MigrationError),
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Server(std::io::Error),
}

/// Opens one connection for start-up work, reporting the driver's own reason on failure.
fn connect(config: &Config) -> Result<(DbTarget, db::DbConnection), StartError> {
    let target = DbTarget::parse(&config.database_url).map_err(StartError::DatabaseUrl)?;
    let conn = db::establish(&target).map_err(|err| StartError::Connect {
        backend: target.backend.name(),
        reason: one_line(&err.to_string()),
    })?;
    Ok((target, conn))
}

/// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running...").
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `mercado migrate`: applies pending migrations and says which.
pub fn migrate(config: &Config) -> Result<(), StartError> {
    let (target, mut conn) = connect(config)?;
    let applied = db::migrate(&mut conn)?;
    if applied.is_empty() {
        println!("{} database is up to date", target.backend.name());
    } else {
        println!(
            "applied {} migration(s): {}",
            applied.len(),
            applied.join(", ")
        );
    }
    Ok(())
}

/// `mercado seed`: migrate, then load a generated shop and print rows per second per table.
/// `method` defaults to the faster one for the backend.
pub fn seed(
    config: &Config,
    shape: seed::generate::Shape,
    reset: bool,
    method: Option<LoadMethod>,
) -> Result<(), StartError> {
    let (target, mut conn) = connect(config)?;
    db::migrate(&mut conn)?;
    let options = SeedOptions {
        shape,
        reset,
        method: method.unwrap_or_else(|| LoadMethod::fastest_for(target.backend)),
    };
    let report = seed::seed(&mut conn, options, &seed::terminal_progress())?;
    println!("{}", report.summary());
    Ok(())
}

/// `mercado serve`: migrate, build the pool, listen, serve until Ctrl-C or SIGTERM.
pub fn serve(config: Config) -> Result<(), StartError> {
    let (target, mut conn) = connect(&config)?;
    let applied = db::migrate(&mut conn)?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "applied pending migrations");
    }
    // A fresh clone should answer `GET /customers` with data at once.
    if config.seed_demo {
        if let Some(report) = seed::seed_demo_if_empty(&mut conn)? {
            tracing::info!(
                "the database was empty: loaded the demo shop. {}",
                report.summary()
            );
        }
    }
    drop(conn);

    let pool = db::build_pool(&target, &config);
    let listener = TcpListener::bind(&config.bind).map_err(|source| StartError::Bind {
        addr: config.bind.clone(),
        source,
    })?;
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| config.bind.clone());
    tracing::info!(
        backend = target.backend.name(),
        database = %redact(&config.database_url),
        "serving on http://{addr}"
    );

    actix_web::rt::System::new()
        .block_on(async move { crate::app::run(listener, pool, &config)?.await })
        .map_err(StartError::Server)?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// A database URL without its password, for the log.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_the_log() {
        assert_eq!(
            redact("postgres://app:secret@db/mercado"),
            "postgres://app:***@db/mercado"
        );
        assert_eq!(
            redact("postgres://app@db/mercado"),
            "postgres://app@db/mercado"
        );
        assert_eq!(redact("mercado.db"), "mercado.db");
    }

    #[test]
    fn driver_messages_become_one_line() {
        assert_eq!(
            one_line("failed: Connection refused\n\tIs the server running?\n"),
            "failed: Connection refused Is the server running?"
        );
    }
}
