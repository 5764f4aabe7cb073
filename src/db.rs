//! The database layer: one connection type for two backends, the pool, what every new
//! connection is told, the embedded migrations, write transactions, and [`run`], the one door
//! through which async handlers reach synchronous Diesel.
//!
//! The lesson here is the textbook's Session, taken apart. SQLAlchemy's Session bundles a
//! connection, a transaction and an identity map. Diesel has no Session: a query runs on the
//! `&mut DbConnection` you hand it, a transaction is the closure you pass to
//! [`write_transaction`], and there is no identity map (loading customer 5 twice gives two
//! independent structs, and nothing is written back unless you write it).

use std::collections::BTreeSet;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::migration::MigrationSource;
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::Config;
use crate::querylog::{self, QueryLog};

/// One connection type for the whole app; `DATABASE_URL` picks the variant at run time.
///
/// Diesel's `MultiConnection` derive forwards loads, single-row inserts, updates, deletes, joins,
/// `sql_query` and transactions to whichever backend is inside. A few statements do not go
/// through it (multi-row inserts, `copy_from`, `on_conflict`): for those, [`per_backend!`](crate::per_backend)
/// matches on the variant and runs the same Diesel code against the concrete connection.
///
/// The forwarding has a price on every statement. Diesel walks a query several times before it
/// runs (to collect its binds, to check it can be cached, to key the statement cache, and once
/// more for the query log), and the derive's wrapper renders the whole query to SQL on each
/// walk, with the cache keyed by that SQL. The concrete connection keys its cache by the query's
/// type and renders nothing on a cache hit. So the reads that serve most requests (a row by id,
/// a page, the category list) also go through `per_backend!`: for `GET /customers/{id}` on
/// PostgreSQL that cut a fifth of the instructions a request costs (docs/BENCHMARKS.md).
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs one Diesel expression against whichever concrete connection is inside a
/// `&mut DbConnection`. The expression is written once and compiled twice, once per backend.
///
/// ```ignore
/// let rows = per_backend!(conn, |c| diesel::insert_into(order_items::table).values(&items).execute(c))?;
/// ```
#[macro_export]
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgresql,
}

impl Backend {
    /// The name `/health` reports.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgresql => "postgresql",
        }
    }
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Postgresql(_) => Backend::Postgresql,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// A parsed `DATABASE_URL`: the backend and what to hand its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbTarget {
    pub backend: Backend,
    /// A libpq URL for PostgreSQL, a file path for SQLite.
    pub location: String,
}

impl DbTarget {
    /// `postgres://` and `postgresql://` select PostgreSQL; `sqlite://path` or a bare path
    /// selects SQLite. Any other scheme is refused rather than taken for a file name.
    pub fn parse(url: &str) -> Result<DbTarget, String> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbTarget {
                backend: Backend::Postgresql,
                location: url.to_string(),
            });
        }
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        if let Some((scheme, _)) = path.split_once("://") {
            return Err(format!(
                "unsupported database URL scheme {scheme:?}: use a file path, sqlite://path or postgres://..."
            ));
        }
        if path.is_empty() {
            return Err("the SQLite database path is empty".to_string());
        }
        Ok(DbTarget {
            backend: Backend::Sqlite,
            location: path.to_string(),
        })
    }
}

impl DbTarget {
    /// Where the data lives, for messages and logs: the file path, or the PostgreSQL URL
    /// with its password replaced by `***`.
    pub fn redacted(&self) -> String {
        let url = &self.location;
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
}

/// What every SQLite connection is told when it opens:
/// - `foreign_keys = ON`: SQLite does not enforce foreign keys unless asked, per connection;
/// - `journal_mode = WAL`: readers do not block the writer, nor it them;
/// - `busy_timeout = 5000`: a writer waits up to 5 s for the lock instead of failing at once;
/// - `synchronous = NORMAL`: with WAL, durable at every checkpoint and much faster than FULL;
/// - `cache_size = -512`: each connection caches at most 512 KiB of pages (the default is about
///   2 MB). Every pooled connection keeps its own cache, and a report's sorts and temporary
///   tables are sized by it too, so with 8 connections running reports the default held well
///   over 100 MiB. The operating system caches the file for all of them anyway; a smaller
///   cache measured no slower (docs/BENCHMARKS.md, "Memory on SQLite").
const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; \
                              PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; \
                              PRAGMA cache_size = -512;";

/// Opens one connection and prepares it. Used by the pool and by `mercado migrate`.
pub fn establish(target: &DbTarget) -> Result<DbConnection, diesel::r2d2::Error> {
    use diesel::r2d2::Error;
    match target.backend {
        Backend::Postgresql => PgConnection::establish(&target.location)
            .map(DbConnection::Postgresql)
            .map_err(Error::ConnectionError),
        Backend::Sqlite => {
            let mut conn =
                SqliteConnection::establish(&target.location).map_err(Error::ConnectionError)?;
            conn.batch_execute(SQLITE_PRAGMAS)
                .map_err(Error::QueryError)?;
            Ok(DbConnection::Sqlite(conn))
        }
    }
}

/// The pool's connection factory.
///
/// Diesel ships `r2d2::ConnectionManager<C>`, but for a `MultiConnection` it tries each backend
/// in turn and reports only "Invalid connection url for multiconnection" when PostgreSQL is
/// down. This manager picks the backend from the URL scheme instead, so the user sees libpq's
/// own reason ("Connection refused", "database ... does not exist").
#[derive(Debug, Clone)]
pub struct DbManager {
    target: DbTarget,
}

impl DbManager {
    pub fn new(target: DbTarget) -> DbManager {
        DbManager { target }
    }
}

/// A connection as the pool holds it: the connection, and whether a statement found it dead.
///
/// Diesel's `is_broken()` stays `false` after PostgreSQL has closed a connection (a restart, a
/// failover, `pg_terminate_backend`), so r2d2 would hand the dead connection out again and
/// again. [`run`] sets `lost` when a statement fails with a lost-connection error, and
/// `DbManager::has_broken` (r2d2's `ManageConnection` hook) then tells r2d2 to throw the connection away.
pub struct PoolConnection {
    conn: DbConnection,
    lost: bool,
}

impl std::ops::Deref for PoolConnection {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for PoolConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

impl r2d2::ManageConnection for DbManager {
    type Connection = PoolConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PoolConnection, Self::Error> {
        Ok(PoolConnection {
            conn: establish(&self.target)?,
            lost: false,
        })
    }

    /// Not called on checkout (see `build_pool`); r2d2 uses it only when told to.
    fn is_valid(&self, conn: &mut PoolConnection) -> Result<(), Self::Error> {
        conn.conn
            .batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut PoolConnection) -> bool {
        std::thread::panicking() || conn.lost || conn.conn.is_broken()
    }
}

pub type DbPool = r2d2::Pool<DbManager>;
pub type PooledConnection = r2d2::PooledConnection<DbManager>;

/// Builds the pool without opening a connection: start-up has already proven the database
/// reachable (it ran the migrations), and a database that goes away later shows up as 503s
/// until it comes back, not as a crash.
///
/// `events` hears of every checkout and every timeout (the metrics' pool series).
pub fn build_pool(
    target: &DbTarget,
    config: &Config,
    events: impl r2d2::HandleEvent + 'static,
) -> DbPool {
    r2d2::Pool::builder()
        .max_size(config.pool_size)
        // One warm connection; the rest open on demand. r2d2 keeps retrying in the background.
        .min_idle(Some(1))
        // No `SELECT 1` before every checkout (r2d2's default): it doubled the round trips of
        // a single-row request. A connection that died while idle (a PostgreSQL restart) fails
        // its next statement instead, that request answers 503, and `PoolConnection::lost`
        // makes r2d2 drop the connection: the pool heals at one request per dead connection
        // (tests/api/service.rs kills them all to check).
        .test_on_check_out(false)
        .connection_timeout(config.pool_timeout)
        .event_handler(Box::new(events))
        .build_unchecked(DbManager::new(target.clone()))
}

/// The two migration trees, compiled into the binary: `embed_migrations!` reads each directory's
/// `up.sql`, `down.sql` and `metadata.toml` at build time, so the binary needs no SQL files and
/// no diesel CLI where it runs. A migration whose `metadata.toml` says
/// `run_in_transaction = false` (the PostgreSQL tree's `CREATE INDEX CONCURRENTLY`) runs
/// without the transaction Diesel otherwise wraps each one in.
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Runs every pending migration of the connection's backend; returns the versions it applied.
pub fn migrate(conn: &mut DbConnection) -> Result<Vec<String>, MigrationError> {
    let applied = match conn {
        DbConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(MigrationError::from)?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

/// Where one migration stands in one database: a line of `mercado migrate --status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The directory name, `2026-12-01-000001_index_orders_placed_at`; for a migration this
    /// binary does not embed, the version alone.
    pub name: String,
    /// What Diesel records in `__diesel_schema_migrations`: the digits of the name's timestamp.
    pub version: String,
    pub state: MigrationState,
}

/// Whether a database has run a migration, as `__diesel_schema_migrations` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationState {
    Applied,
    Pending,
    /// Recorded as applied, but not in this binary: a newer build migrated this database.
    /// This binary cannot revert it (it has no `down.sql` for it).
    AppliedNotEmbedded,
}

/// Every migration this binary embeds for the connection's backend, oldest first, each applied
/// or pending; then any migration the database records that this binary does not know.
///
/// It changes no schema, but like every Diesel harness call it first creates the bookkeeping
/// table `__diesel_schema_migrations` if the database has none.
pub fn migration_status(conn: &mut DbConnection) -> Result<Vec<MigrationStatus>, MigrationError> {
    match conn {
        DbConnection::Postgresql(c) => status_of(c, &POSTGRES_MIGRATIONS),
        DbConnection::Sqlite(c) => status_of(c, &SQLITE_MIGRATIONS),
    }
    .map_err(MigrationError::from)
}

/// [`migration_status`] for one concrete connection: written once, compiled per backend.
fn status_of<DB, C>(
    conn: &mut C,
    source: &EmbeddedMigrations,
) -> diesel::migration::Result<Vec<MigrationStatus>>
where
    DB: diesel::backend::Backend,
    C: MigrationHarness<DB>,
{
    let mut applied: BTreeSet<String> = conn
        .applied_migrations()?
        .iter()
        .map(|version| version.to_string())
        .collect();
    let mut statuses: Vec<MigrationStatus> = MigrationSource::<DB>::migrations(source)?
        .iter()
        .map(|migration| {
            let version = migration.name().version().to_string();
            let state = if applied.remove(&version) {
                MigrationState::Applied
            } else {
                MigrationState::Pending
            };
            MigrationStatus {
                name: migration.name().to_string(),
                version,
                state,
            }
        })
        .collect();
    // What is left was applied by something other than this binary.
    statuses.extend(applied.into_iter().map(|version| MigrationStatus {
        name: version.clone(),
        version,
        state: MigrationState::AppliedNotEmbedded,
    }));
    statuses.sort_by(|a, b| a.version.cmp(&b.version));
    Ok(statuses)
}

/// Applies the oldest pending migration only; returns its version, or `None` when nothing is
/// pending. `mercado migrate` applies them all with [`migrate`]; the round-trip test steps
/// through them with this, one at a time.
pub fn migrate_one(conn: &mut DbConnection) -> Result<Option<String>, MigrationError> {
    let pending = migration_status(conn)?
        .iter()
        .any(|m| m.state == MigrationState::Pending);
    if !pending {
        return Ok(None);
    }
    let version = match conn {
        DbConnection::Postgresql(c) => c.run_next_migration(POSTGRES_MIGRATIONS),
        DbConnection::Sqlite(c) => c.run_next_migration(SQLITE_MIGRATIONS),
    }
    .map_err(MigrationError::from)?;
    Ok(Some(version.to_string()))
}

/// Reverts the newest applied migration (runs its `down.sql`, in a transaction unless its
/// `metadata.toml` says otherwise) and returns its version, or `None` when nothing is applied.
/// This is `mercado migrate --revert`; whether it should run at all is the caller's question.
pub fn revert_newest(conn: &mut DbConnection) -> Result<Option<String>, MigrationError> {
    let any_applied = migration_status(conn)?
        .iter()
        .any(|m| m.state != MigrationState::Pending);
    if !any_applied {
        return Ok(None);
    }
    let version = match conn {
        DbConnection::Postgresql(c) => c.revert_last_migration(POSTGRES_MIGRATIONS),
        DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
    }
    .map_err(MigrationError::from)?;
    Ok(Some(version.to_string()))
}

/// A migration that could not be applied or reverted, or a migration table that could not be
/// read; Diesel's message, which names the migration and carries the database's error.
#[derive(Debug, thiserror::Error)]
#[error("migration failed: {0}")]
pub struct MigrationError(String);

impl From<Box<dyn std::error::Error + Send + Sync>> for MigrationError {
    fn from(err: Box<dyn std::error::Error + Send + Sync>) -> MigrationError {
        MigrationError(err.to_string())
    }
}

/// Runs `f` in a transaction that is allowed to write: commit when it returns `Ok`, roll back
/// when it returns `Err`. Nothing of a failed write is left behind.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`, which takes the write lock up
/// front. A plain (deferred) `BEGIN` reads first and asks for the lock at the first write; when
/// two such transactions meet, SQLite cannot wait its way out (one would have to drop what it
/// read) and fails at once with "database is locked", busy timeout or not. Taking the lock at
/// `BEGIN` turns that into an orderly queue behind `busy_timeout`.
///
/// `f` receives the `DbConnection` itself, so nested `conn.transaction(...)` calls inside it
/// become savepoints, exactly as with `Connection::transaction`.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    // The `MultiConnection` keeps its transaction state inside the SQLite connection, so
    // commit and rollback through `conn` see the transaction begun above.
    match f(conn) {
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(err)
        }
    }
}

/// Why [`run`] could not give the closure a connection, or did not get its answer back. What
/// the closure's own queries answered is the closure's result, not one of these.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No pooled connection came free within `MERCADO_POOL_TIMEOUT_MS`: every connection was
    /// busy, or none could be opened (r2d2's message carries the driver's last error).
    #[error("no database connection came free in time: {0}")]
    Unavailable(#[from] r2d2::Error),
    /// The closure panicked: a bug. The pool throws that connection away.
    #[error("the database task failed: {0}")]
    TaskFailed(#[from] tokio::task::JoinError),
}

/// Runs `f` with a pooled connection on Tokio's blocking thread pool (the pool actix's
/// `web::block` uses; called directly so this module needs no actix) and returns what `f`
/// returned.
///
/// Diesel is synchronous: both `pool.get()` (which may wait up to `MERCADO_POOL_TIMEOUT_MS` for
/// a free connection) and every query block the calling thread. Running them on an async worker
/// would stall every other request that worker serves, so every handler goes through here.
/// Each statement `f` runs is recorded in `log`, which becomes the response's `X-Query-Count`.
pub async fn run<T, F>(pool: &DbPool, log: &QueryLog, f: F) -> Result<T, DbError>
where
    F: FnOnce(&mut DbConnection) -> T + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let log = log.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut pooled: PooledConnection = pool.get()?;
        let (result, lost) = querylog::recording(&mut pooled.conn, &log, f);
        // A statement that found the connection gone marks it for the pool to drop.
        pooled.lost = lost;
        Ok::<T, DbError>(result)
    })
    .await?;
    result
}

/// A PostgreSQL URL with its database name (the last path segment) replaced, keeping the
/// user, host and any `?sslmode=...` parameters: `postgres://u@h/postgres?sslmode=disable`
/// with `shop` becomes `postgres://u@h/shop?sslmode=disable`. Tests and benchmarks use it to
/// reach the databases they create through an administrative URL.
pub fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[host_start..].find('/') {
        Some(slash) => &base[..host_start + slash],
        None => base,
    };
    format!("{server}/{name}{query}")
}

/// The most bind parameters one statement may carry: PostgreSQL's wire protocol counts them in
/// 16 bits; the bundled SQLite is built with `SQLITE_MAX_VARIABLE_NUMBER` = 32,766. Multi-row
/// `INSERT`s are sized by this: every value of every row is one parameter.
pub fn max_binds(backend: Backend) -> usize {
    match backend {
        Backend::Postgresql => 65_535,
        Backend::Sqlite => 32_766,
    }
}

/// The most ids one `eq_any` / `belonging_to` filter may list in one statement. On SQLite each
/// id is a parameter (`IN (?, ?, ...)`), so the bind limit applies; on PostgreSQL Diesel sends
/// the whole list as one array parameter (`= ANY($1)`), so there is no limit to split at.
pub fn max_id_list(backend: Backend) -> usize {
    match backend {
        Backend::Postgresql => usize::MAX,
        Backend::Sqlite => max_binds(Backend::Sqlite),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        let redacted = |url: &str| DbTarget::parse(url).unwrap().redacted();
        assert_eq!(
            redacted("postgres://app:secret@db/mercado"),
            "postgres://app:***@db/mercado"
        );
        assert_eq!(
            redacted("postgres://app@db/mercado"),
            "postgres://app@db/mercado"
        );
        assert_eq!(redacted("sqlite://mercado.db"), "mercado.db");
    }

    #[test]
    fn a_database_name_is_replaced_and_the_parameters_kept() {
        assert_eq!(
            with_database_name("postgres://postgres@127.0.0.1:5432/postgres", "shop"),
            "postgres://postgres@127.0.0.1:5432/shop"
        );
        assert_eq!(
            with_database_name("postgresql://u:p@db/app?sslmode=disable", "shop"),
            "postgresql://u:p@db/shop?sslmode=disable"
        );
        assert_eq!(
            with_database_name("postgres://db", "shop"),
            "postgres://db/shop"
        );
    }
}
