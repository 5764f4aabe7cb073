//! `mercado seed`: a realistic shop of any size, loaded the way bulk data should be loaded.
//!
//! The lesson is the textbook's warning about bulk work through an ORM: building 300,000
//! objects and saving them one by one is one round trip per row. Here the rows are generated
//! in memory ([`generate`]) and sent in as few statements as the database allows:
//! - multi-row `INSERT ... VALUES (...), (...), ...`, each as large as the backend's
//!   bind-parameter limit permits (PostgreSQL 65,535, the bundled SQLite 32,766);
//! - on PostgreSQL, `COPY ... FROM STDIN` in binary format (Diesel's `copy_from`), the
//!   database's own bulk-load path, which skips SQL parsing per row entirely;
//! - on PostgreSQL, the foreign keys are set aside during the load and re-checked in one pass
//!   afterwards (see `suspend_foreign_keys.postgres.sql`): per-row trigger checks cost more
//!   than the load itself;
//! - all of it inside one transaction: a seed that fails half-way leaves nothing behind.

pub mod generate;

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::dsl::max;
use diesel::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};

use crate::db::{self, Backend, DbConnection};
use crate::per_backend;
use crate::schema::{categories, customers, order_items, orders, products};
use generate::{BaseIds, Dataset, Shape};

/// How rows travel to the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMethod {
    /// Multi-row `INSERT`s sized to the bind-parameter limit (both backends).
    Insert,
    /// PostgreSQL's binary `COPY FROM STDIN`.
    Copy,
}

impl LoadMethod {
    /// The faster method for each backend, as measured in docs/BENCHMARKS.md.
    pub fn fastest_for(backend: Backend) -> LoadMethod {
        match backend {
            Backend::Postgresql => LoadMethod::Copy,
            Backend::Sqlite => LoadMethod::Insert,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LoadMethod::Insert => "multi-row INSERT",
            LoadMethod::Copy => "COPY",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SeedOptions {
    pub shape: Shape,
    /// Empty every table and restart the ids first; otherwise the rows are appended.
    pub reset: bool,
    pub method: LoadMethod,
}

/// Rows written and time spent, per table, in load order.
#[derive(Debug, Clone)]
pub struct SeedReport {
    pub backend: Backend,
    pub method: LoadMethod,
    pub tables: Vec<(&'static str, usize, Duration)>,
    pub total: Duration,
}

impl SeedReport {
    pub fn rows(&self, table: &str) -> usize {
        self.tables
            .iter()
            .find(|(name, _, _)| *name == table)
            .map_or(0, |(_, rows, _)| *rows)
    }

    /// How the rows went in, and rows per second per table, in one line: `multi-row INSERT
    /// in 0.52 s: categories 35 (...), ...`. Callers say which database it was.
    pub fn summary(&self) -> String {
        let tables: Vec<String> = self
            .tables
            .iter()
            .map(|(name, rows, took)| {
                let per_second = *rows as f64 / took.as_secs_f64().max(1e-9);
                format!("{name} {rows} ({per_second:.0} rows/s)")
            })
            .collect();
        format!(
            "{} in {:.2} s: {}",
            self.method.name(),
            self.total.as_secs_f64(),
            tables.join(", ")
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("COPY is PostgreSQL's bulk-load command; SQLite loads with multi-row INSERTs")]
    CopyNeedsPostgres,
    #[error("seeding failed: {0}")]
    Database(#[from] diesel::result::Error),
}

/// Seeds the database behind `conn`. `progress` is advanced by rows written; pass
/// `ProgressBar::hidden()` for none.
pub fn seed(
    conn: &mut DbConnection,
    options: SeedOptions,
    progress: &ProgressBar,
) -> Result<SeedReport, SeedError> {
    let backend = conn.backend();
    if options.method == LoadMethod::Copy && backend != Backend::Postgresql {
        return Err(SeedError::CopyNeedsPostgres);
    }
    let started = Instant::now();
    let report = db::write_transaction(conn, |conn| {
        if options.reset {
            reset(conn)?;
        }
        let base = base_ids(conn)?;
        let data = generate::generate(options.shape, base);
        progress.set_length(total_rows(&data) as u64);
        if backend == Backend::Postgresql {
            conn.batch_execute(include_str!("suspend_foreign_keys.postgres.sql"))?;
        }
        let tables = load(conn, &data, options.method, progress)?;
        match backend {
            Backend::Postgresql => {
                conn.batch_execute(include_str!("restore_foreign_keys.postgres.sql"))?;
                conn.batch_execute(include_str!("sync_sequences.postgres.sql"))?;
            }
            Backend::Sqlite => conn.batch_execute(include_str!("analyze.sqlite.sql"))?,
        }
        Ok::<_, SeedError>(tables)
    })?;
    progress.finish_and_clear();
    Ok(SeedReport {
        backend,
        method: options.method,
        tables: report,
        total: started.elapsed(),
    })
}

/// The demo shop `mercado serve` loads into an empty database: a few hundred customers.
pub const DEMO: Shape = Shape {
    customers: 300,
    orders_per_customer: 4,
    seed: 2025,
};

/// Seeds [`DEMO`] when there are no customers yet; `Ok(None)` when there already are.
pub fn seed_demo_if_empty(conn: &mut DbConnection) -> Result<Option<SeedReport>, SeedError> {
    if has_customers(conn)? {
        return Ok(None);
    }
    let options = SeedOptions {
        shape: DEMO,
        reset: false,
        method: LoadMethod::fastest_for(conn.backend()),
    };
    seed(conn, options, &ProgressBar::hidden()).map(Some)
}

/// Whether the shop has any customer: `SELECT EXISTS (SELECT customer_id FROM customers)`.
pub fn has_customers(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        customers::table.select(customers::customer_id),
    ))
    .get_result(conn)
}

/// A progress bar on stderr when it is a terminal, a hidden one otherwise (logs, CI, pipes).
pub fn terminal_progress() -> ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} rows ({per_sec})",
    ) {
        bar.set_style(style);
    }
    bar
}

fn total_rows(data: &Dataset) -> usize {
    data.categories.len()
        + data.products.len()
        + data.customers.len()
        + data.orders.len()
        + data.order_items.len()
}

fn reset(conn: &mut DbConnection) -> QueryResult<()> {
    match conn.backend() {
        Backend::Postgresql => conn.batch_execute(include_str!("reset.postgres.sql")),
        Backend::Sqlite => conn.batch_execute(include_str!("reset.sqlite.sql")),
    }
}

fn base_ids(conn: &mut DbConnection) -> QueryResult<BaseIds> {
    Ok(BaseIds {
        category: categories::table
            .select(max(categories::category_id))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0),
        product: products::table
            .select(max(products::product_id))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0),
        customer: customers::table
            .select(max(customers::customer_id))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0),
        order: orders::table
            .select(max(orders::order_id))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0),
        order_item: order_items::table
            .select(max(order_items::order_item_id))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0),
    })
}

/// Rows per `COPY` statement: large enough to amortise the round trip, small enough that the
/// progress bar moves.
const COPY_ROWS: usize = 50_000;

/// Sends one table's rows with `method`, in as few statements as the backend allows.
///
/// A macro rather than a generic function: the same Diesel expression must be compiled once per
/// backend and per row type, and the trait bounds a generic version needs would bury the two
/// calls this is about (`insert_into(..).values(chunk)` and `copy_from(..).from_insertable(..)`).
macro_rules! load_table {
    ($conn:expr, $table:expr, $rows:expr, $columns:expr, $method:expr, $progress:expr) => {{
        let (rows, started) = (&$rows, Instant::now());
        match ($conn, $method) {
            (DbConnection::Postgresql(pg), LoadMethod::Copy) => {
                for chunk in rows.chunks(COPY_ROWS) {
                    diesel::copy_from($table)
                        .from_insertable(chunk)
                        .execute(pg)?;
                    $progress.inc(chunk.len() as u64);
                }
            }
            (conn, _) => {
                // Every row binds one parameter per column; fill each statement to the limit.
                let per_statement = db::max_binds(conn.backend()) / $columns;
                for chunk in rows.chunks(per_statement) {
                    per_backend!(conn, |c| diesel::insert_into($table)
                        .values(chunk)
                        .execute(c))?;
                    $progress.inc(chunk.len() as u64);
                }
            }
        }
        started.elapsed()
    }};
}

fn load(
    conn: &mut DbConnection,
    data: &Dataset,
    method: LoadMethod,
    progress: &ProgressBar,
) -> QueryResult<Vec<(&'static str, usize, Duration)>> {
    // Parents before children, so every foreign key points at a row that is already there.
    let categories = load_table!(
        &mut *conn,
        categories::table,
        data.categories,
        3,
        method,
        progress
    );
    let products = load_table!(
        &mut *conn,
        products::table,
        data.products,
        5,
        method,
        progress
    );
    let customers = load_table!(
        &mut *conn,
        customers::table,
        data.customers,
        5,
        method,
        progress
    );
    let orders = load_table!(&mut *conn, orders::table, data.orders, 4, method, progress);
    let items = load_table!(
        &mut *conn,
        order_items::table,
        data.order_items,
        5,
        method,
        progress
    );
    Ok(vec![
        ("categories", data.categories.len(), categories),
        ("products", data.products.len(), products),
        ("customers", data.customers.len(), customers),
        ("orders", data.orders.len(), orders),
        ("order_items", data.order_items.len(), items),
    ])
}
