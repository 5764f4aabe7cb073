//! `EXPLAIN` as a Diesel extension, and the plans and rows of every dashboard strategy.
//!
//! The chapter's advice is to choose a loading strategy by measuring: count the statements
//! (the query log does) and read the plans. [`Explain`] wraps any Diesel query in the
//! backend's `EXPLAIN`, the way Diesel's guide extends the DSL: a [`QueryFragment`] that writes
//! its own keyword and then lets the inner query write itself, so the inner query's bind
//! parameters stay bound parameters. Nothing is ever pasted into the SQL text.
//!
//! - PostgreSQL: `EXPLAIN (ANALYZE, BUFFERS)`: the query runs, and the plan says what each
//!   step actually cost, in rows, time and pages.
//! - SQLite: `EXPLAIN QUERY PLAN`: the plan as a tree of steps (`SEARCH orders USING INDEX
//!   ...`); SQLite does not run the query.
//!
//! [`explain_strategy`] explains each distinct statement a strategy sends for one page, with
//! how often it runs and the rows it returns, measured by loading them.

use diesel::deserialize::{self, QueryableByName};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::row::NamedRow;
use diesel::sql_types::{Integer, Text, Untyped};
use serde::Serialize;

use crate::dashboard::{self, Statement, Strategy};
use crate::db::{self, Backend, DbConnection, MultiBackend};
use crate::models::{Customer, Order, Page};
use crate::querylog::{self, QueryLog};

/// `EXPLAIN` around `query`, in the dialect of `backend`.
#[derive(Debug, Clone, Copy)]
pub struct Explain<Q> {
    query: Q,
    backend: Backend,
}

impl<Q> Explain<Q> {
    pub fn new(query: Q, backend: Backend) -> Explain<Q> {
        Explain { query, backend }
    }
}

impl<Q: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql(match self.backend {
            Backend::Postgresql => "EXPLAIN (ANALYZE, BUFFERS) ",
            Backend::Sqlite => "EXPLAIN QUERY PLAN ",
        });
        self.query.walk_ast(out.reborrow())
    }
}

/// A plan is read by column name (`PlanLine`), like `sql_query`'s results.
impl<Q> Query for Explain<Q> {
    type SqlType = Untyped;
}

/// Not cached as a prepared statement: a plan is asked for once.
impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> RunQueryDsl<DbConnection> for Explain<Q> {}

/// One row of a plan, whichever backend wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanLine {
    /// PostgreSQL: one line of text, already indented.
    Text(String),
    /// SQLite: a step of the plan tree, with its parent's id.
    Step {
        id: i32,
        parent: i32,
        detail: String,
    },
}

impl QueryableByName<MultiBackend> for PlanLine {
    fn build<'a>(row: &impl NamedRow<'a, MultiBackend>) -> deserialize::Result<PlanLine> {
        // PostgreSQL names its one column "QUERY PLAN"; SQLite has id, parent, notused, detail.
        if let Ok(line) = NamedRow::get::<Text, String>(row, "QUERY PLAN") {
            return Ok(PlanLine::Text(line));
        }
        Ok(PlanLine::Step {
            id: NamedRow::get::<Integer, i32>(row, "id")?,
            parent: NamedRow::get::<Integer, i32>(row, "parent")?,
            detail: NamedRow::get::<Text, String>(row, "detail")?,
        })
    }
}

/// Plan lines longer than this are cut: PostgreSQL writes a bound `= ANY($1)` array out in
/// full, which for a page of 5,000 customers is one 30,000-character line.
const MAX_LINE_CHARS: usize = 300;

/// Runs `EXPLAIN` on `query` and returns the plan as lines of text, indented by depth.
pub fn plan<'a, Q>(conn: &mut DbConnection, query: Q) -> QueryResult<Vec<String>>
where
    Q: QueryFragment<MultiBackend> + 'a,
{
    let lines: Vec<PlanLine> = Explain::new(query, conn.backend()).load(conn)?;
    let mut depths: Vec<(i32, usize)> = Vec::new();
    Ok(lines
        .into_iter()
        .map(|line| match line {
            PlanLine::Text(text) => text,
            PlanLine::Step { id, parent, detail } => {
                let depth = depths
                    .iter()
                    .find(|(step, _)| *step == parent)
                    .map_or(0, |(_, depth)| depth + 1);
                depths.push((id, depth));
                format!("{}{detail}", "  ".repeat(depth))
            }
        })
        .map(|line| match line.char_indices().nth(MAX_LINE_CHARS) {
            Some((cut, _)) => format!("{} …", &line[..cut]),
            None => line,
        })
        .collect())
}

/// One distinct statement a strategy sends for a page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExplainedStatement {
    /// Its SQL text, with placeholders, as the query log shows it.
    pub sql: String,
    /// How many times the strategy runs it for this page.
    pub runs: usize,
    /// The rows it returns over all those runs, measured by loading them.
    pub rows: usize,
    /// The plan of one run (the first customer's or order's, for the per-row statements).
    pub plan: Vec<String>,
}

/// A statement's plan and rows, before its SQL text and run count (from the query log) join.
struct Measured {
    rows: usize,
    plan: Vec<String>,
}

/// Explains every distinct statement `strategy` sends for `page`.
///
/// The strategy runs once under a [`QueryLog`], which gives each statement's SQL text and run
/// count exactly as the waterfall shows them; then each statement's builder from
/// `src/dashboard.rs` is loaded again for its rows and wrapped in [`Explain`] for its plan.
pub fn explain_strategy(
    conn: &mut DbConnection,
    strategy: Strategy,
    page: Page,
) -> QueryResult<Vec<ExplainedStatement>> {
    let log = QueryLog::for_request(format!("explain {}", strategy.name()));
    let (result, _) = querylog::recording(conn, &log, |conn| strategy.run(conn, page));
    result?;
    let measured = match strategy {
        Strategy::NPlusOne => n_plus_one(conn, page)?,
        Strategy::Batched => batched(conn, page)?,
        Strategy::Joined => {
            let query = || dashboard::customers_with_orders_and_items(page);
            vec![measure(conn, query)?]
        }
        Strategy::Aggregate => vec![measure(conn, || dashboard::dashboard_in_sql(page))?],
    };
    Ok(log
        .take()
        .groups
        .into_iter()
        .zip(measured)
        .map(|(group, measured)| ExplainedStatement {
            sql: group.sql,
            runs: group.count,
            rows: measured.rows,
            plan: measured.plan,
        })
        .collect())
}

/// Loads one statement for its rows and explains it.
fn measure<'a, T, Q: Statement<'a, T> + 'a>(
    conn: &mut DbConnection,
    query: impl Fn() -> Q,
) -> QueryResult<Measured> {
    let rows = query().load::<T>(conn)?.len();
    Ok(Measured {
        rows,
        plan: plan(conn, query())?,
    })
}

/// The per-row statements of the N+1: rows summed over every customer and every order (that
/// is how often the strategy runs them), plans of the first of each.
fn n_plus_one(conn: &mut DbConnection, page: Page) -> QueryResult<Vec<Measured>> {
    let customers: Vec<Customer> = dashboard::customer_page(page).load(conn)?;
    let mut statements = vec![Measured {
        rows: customers.len(),
        plan: plan(conn, dashboard::customer_page(page))?,
    }];
    let Some(first_customer) = customers.first() else {
        return Ok(statements);
    };
    let mut orders: Vec<Order> = Vec::new();
    for customer in &customers {
        orders.extend(dashboard::orders_of_customer(customer).load::<Order>(conn)?);
    }
    statements.push(Measured {
        rows: orders.len(),
        plan: plan(conn, dashboard::orders_of_customer(first_customer))?,
    });
    if let Some(first_order) = orders.first() {
        let mut items = 0;
        for order in &orders {
            items += dashboard::items_of_order(order)
                .load::<crate::models::OrderItem>(conn)?
                .len();
        }
        statements.push(Measured {
            rows: items,
            plan: plan(conn, dashboard::items_of_order(first_order))?,
        });
    }
    Ok(statements)
}

/// The batched statements: rows over every chunk, plans of the first chunk.
fn batched(conn: &mut DbConnection, page: Page) -> QueryResult<Vec<Measured>> {
    let customers: Vec<Customer> = dashboard::customer_page(page).load(conn)?;
    let mut statements = vec![Measured {
        rows: customers.len(),
        plan: plan(conn, dashboard::customer_page(page))?,
    }];
    let chunk = db::max_id_list(conn.backend());
    let Some(first_customers) = customers.chunks(chunk).next() else {
        return Ok(statements);
    };
    let mut orders: Vec<Order> = Vec::new();
    for part in customers.chunks(chunk) {
        orders.extend(dashboard::orders_of(part).load::<Order>(conn)?);
    }
    statements.push(Measured {
        rows: orders.len(),
        plan: plan(conn, dashboard::orders_of(first_customers))?,
    });
    if let Some(first_orders) = orders.chunks(chunk).next() {
        let mut items = 0;
        for part in orders.chunks(chunk) {
            items += dashboard::items_of(part)
                .load::<crate::models::OrderItem>(conn)?
                .len();
        }
        statements.push(Measured {
            rows: items,
            plan: plan(conn, dashboard::items_of(first_orders))?,
        });
    }
    Ok(statements)
}
