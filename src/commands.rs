//! What the command line runs: `serve`, `migrate` (with `--status` and `--revert`), `seed` and
//! `demo`. `main.rs` parses the arguments and calls one of these; each returns a [`StartError`]
//! that `main` prints as one line.

use std::net::TcpListener;

use crate::config::{Config, ConfigError};
use crate::dashboard::Strategy;
use crate::db::{self, DbTarget, MigrationError, MigrationState};
use crate::explain;
use crate::models::Page;
use crate::querylog;
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
    #[error(
        "refusing to revert {migration}: the {backend} database {database} has customers \
         (run again with --yes to revert it anyway)"
    )]
    RevertRefused {
        migration: String,
        backend: &'static str,
        database: String,
    },
    #[error(
        "cannot revert {version}: the newest applied migration is not in this binary \
         (revert it with the build that applied it)"
    )]
    RevertNotEmbedded { version: String },
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
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
    let conn = establish(&target)?;
    Ok((target, conn))
}

fn establish(target: &DbTarget) -> Result<db::DbConnection, StartError> {
    db::establish(target).map_err(|err| StartError::Connect {
        backend: target.backend.name(),
        reason: one_line(&err.to_string()),
    })
}

/// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running...").
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What `mercado migrate` is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateAction {
    /// Apply every pending migration (plain `mercado migrate`).
    Apply,
    /// List every migration as applied or pending; change nothing (`--status`).
    Status,
    /// Revert the newest applied migration (`--revert`); `confirmed` is `--yes`.
    Revert { confirmed: bool },
}

/// `mercado migrate`: applies pending migrations and says which, or lists them, or reverts the
/// newest. `--status` and `--revert` apply nothing first: they report or undo what is there.
pub fn migrate(config: &Config, action: MigrateAction) -> Result<(), StartError> {
    let (target, mut conn) = connect(config)?;
    match action {
        MigrateAction::Apply => {
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
        }
        MigrateAction::Status => {
            println!(
                "migrations of the {} database {}:",
                target.backend.name(),
                target.redacted()
            );
            for migration in db::migration_status(&mut conn)? {
                let name = migration.name;
                match migration.state {
                    MigrationState::Applied => println!("  applied  {name}"),
                    MigrationState::Pending => println!("  pending  {name}"),
                    MigrationState::AppliedNotEmbedded => {
                        println!("  applied  {name} (not in this binary: a newer build applied it)")
                    }
                }
            }
        }
        MigrateAction::Revert { confirmed } => revert(&target, &mut conn, confirmed)?,
    }
    Ok(())
}

/// `mercado migrate --revert`: runs the newest applied migration's `down.sql`.
///
/// A `down.sql` can destroy data (the first migration's drops every table), and a revert is
/// typed by hand, often against the wrong `DATABASE_URL`. So on a database that has customers it
/// wants `--yes`, and it names the database in the refusal, as `seed --reset` does.
fn revert(
    target: &DbTarget,
    conn: &mut db::DbConnection,
    confirmed: bool,
) -> Result<(), StartError> {
    let statuses = db::migration_status(conn)?;
    let Some(newest) = statuses
        .iter()
        .rev()
        .find(|m| m.state != MigrationState::Pending)
    else {
        println!(
            "nothing to revert: no migration is applied to the {} database {}",
            target.backend.name(),
            target.redacted()
        );
        return Ok(());
    };
    // Diesel would say it cannot find the migration "in the migrations directory"; say why.
    if newest.state == MigrationState::AppliedNotEmbedded {
        return Err(StartError::RevertNotEmbedded {
            version: newest.version.clone(),
        });
    }
    // Every migration from the first on leaves a customers table to ask.
    if !confirmed && seed::has_customers(conn)? {
        return Err(StartError::RevertRefused {
            migration: newest.name.clone(),
            backend: target.backend.name(),
            database: target.redacted(),
        });
    }
    db::revert_newest(conn)?;
    println!(
        "reverted {} on the {} database {}",
        newest.name,
        target.backend.name(),
        target.redacted()
    );
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
    // `--reset` empties whatever DATABASE_URL points at (by default the Quick start's
    // `mercado.db`): say which database that is before doing it.
    if reset {
        println!(
            "emptying every table of the {} database {}",
            target.backend.name(),
            target.redacted()
        );
    }
    let options = SeedOptions {
        shape,
        reset,
        method: method.unwrap_or_else(|| LoadMethod::fastest_for(target.backend)),
    };
    let report = seed::seed(&mut conn, options, &seed::terminal_progress())?;
    println!(
        "seeded the {} database {} with {}",
        target.backend.name(),
        target.redacted(),
        report.summary()
    );
    Ok(())
}

/// The page sizes `mercado demo` compares.
const DEMO_PAGE_SIZES: [i64; 3] = [10, 100, 1_000];

/// The shop `mercado demo` loads into an empty database: large enough that its biggest page is
/// full.
const DEMO_SHOP: seed::generate::Shape = seed::generate::Shape {
    customers: 1_000,
    orders_per_customer: 4,
    seed: 2025,
};

/// `mercado demo`: the textbook's progressive project, steps 3 and 4, as one command. Runs the
/// four dashboard strategies at several page sizes against the configured database and prints
/// statements and milliseconds for each, the way you would read them off `echo=True`.
pub fn demo(config: &Config) -> Result<(), StartError> {
    let (target, mut conn) = connect(config)?;
    db::migrate(&mut conn)?;
    if !seed::has_customers(&mut conn)? {
        let options = SeedOptions {
            shape: DEMO_SHOP,
            reset: false,
            method: LoadMethod::fastest_for(target.backend),
        };
        let report = seed::seed(&mut conn, options, &seed::terminal_progress())?;
        println!(
            "the database was empty: seeded the demo shop with {}\n",
            report.summary()
        );
    }

    println!(
        "{:<12} {:>6} {:>10} {:>12} {:>12} {:>10}",
        "strategy", "limit", "customers", "statements", "rows moved", "ms"
    );
    let mut results = Vec::new();
    for strategy in Strategy::ALL {
        for limit in DEMO_PAGE_SIZES {
            // The best of three runs: the first also warms caches that are not the lesson.
            let page = Page::first(limit);
            let run = querylog::measure(&mut conn, 3, |conn| strategy.run(conn, page))?;
            // The rows every statement returned, summed: what crossed the wire.
            let rows: usize = explain::explain_strategy(&mut conn, strategy, page)?
                .iter()
                .map(|statement| statement.rows)
                .sum();
            println!(
                "{:<12} {:>6} {:>10} {:>12} {:>12} {:>10.2}",
                strategy.name(),
                limit,
                run.value.len(),
                run.statements,
                rows,
                run.best.as_secs_f64() * 1e3
            );
            results.push((strategy, limit, run.statements, run.best));
        }
    }

    let at_largest = |wanted: Strategy| {
        results
            .iter()
            .find(|(s, limit, _, _)| *s == wanted && *limit == DEMO_PAGE_SIZES[2])
            .map(|(_, _, statements, took)| (*statements, took.as_secs_f64() * 1e3))
            .unwrap_or_default()
    };
    let (bad_statements, bad_ms) = at_largest(Strategy::NPlusOne);
    let (good_statements, good_ms) = at_largest(Strategy::Batched);
    println!(
        "\nAt a page of {} on {}, n-plus-one sent {bad_statements} statements in {bad_ms:.1} ms \
         where batched sent {good_statements} in {good_ms:.1} ms, for the same rows.",
        DEMO_PAGE_SIZES[2],
        target.backend.name()
    );
    println!(
        "The statement count grows with the data only when a query runs inside a loop; count \
         statements (X-Query-Count, RUST_LOG=mercado::sql=debug), not lines of code."
    );
    Ok(())
}

/// `mercado serve`: listen, migrate, build the pool, serve until Ctrl-C or SIGTERM.
///
/// The address is bound first: a start-up that cannot serve (the port is taken) stops before
/// it has created a database file, run a migration or loaded the demo shop.
pub fn serve(config: Config) -> Result<(), StartError> {
    let target = DbTarget::parse(&config.database_url).map_err(StartError::DatabaseUrl)?;
    let listener = TcpListener::bind(&config.bind).map_err(|source| StartError::Bind {
        addr: config.bind.clone(),
        source,
    })?;

    let mut conn = establish(&target)?;
    let applied = db::migrate(&mut conn)?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "applied pending migrations");
    }
    // A fresh clone should answer `GET /customers` with data at once.
    if config.seed_demo {
        if let Some(report) = seed::seed_demo_if_empty(&mut conn)? {
            tracing::info!(
                "the database was empty: loaded the demo shop with {}",
                report.summary()
            );
        }
    }
    drop(conn);

    let metrics = std::sync::Arc::new(crate::metrics::Metrics::new(target.backend));
    let pool = db::build_pool(&target, &config, metrics.pool_events());
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| config.bind.clone());
    tracing::info!(
        backend = target.backend.name(),
        database = %target.redacted(),
        "serving on http://{addr}"
    );

    actix_web::rt::System::new()
        .block_on(async move { crate::app::run(listener, pool, &config, metrics)?.await })
        .map_err(StartError::Server)?;
    tracing::info!("stopped cleanly");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_messages_become_one_line() {
        assert_eq!(
            one_line("failed: Connection refused\n\tIs the server running?\n"),
            "failed: Connection refused Is the server running?"
        );
    }
}
