//! Reports in raw SQL: where the textbook says to step past the ORM.
//!
//! Each report is one hand-written statement in a `.sql` file beside this module: shared by
//! both backends where the dialects agree (`*.sql`), one per backend where they do not
//! (`postgres/*.sql`, `sqlite/*.sql`, each saying what differs). They run through
//! `diesel::sql_query` with every input bound (`.bind::<T, _>(value)`), never formatted into
//! the text, and load into `#[derive(QueryableByName)]` rows, which Diesel fills by column
//! name and checks by type when the row arrives.
//!
//! Placeholders are `$1, $2, ...` on both backends. SQLite numbers them by first appearance,
//! so every file uses them in ascending order.
//!
//! (`dashboard_aggregate.sql` lives here too: it is the dashboard's raw-SQL strategy.)

use std::fmt;
use std::str::FromStr;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde::Serialize;

use crate::db::{Backend, DbConnection};

/// Picks the file for the connection's backend.
fn sql(conn: &DbConnection, postgres: &'static str, sqlite: &'static str) -> &'static str {
    match conn.backend() {
        Backend::Postgresql => postgres,
        Backend::Sqlite => sqlite,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, QueryableByName, utoipa::ToSchema)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct LastNameOrders {
    #[diesel(sql_type = Text)]
    pub last_name: String,
    #[diesel(sql_type = BigInt)]
    pub orders: i64,
}

/// `GET /reports/orders-by-last-name`: the textbook's own example of a query to write by hand.
///
/// Raw because it is the textbook's SQL verbatim, and it reads best as SQL. The DSL could build
/// it (`group_by`, `count_star`, ordering by an aggregate), but the reader would have to
/// translate it back to see the join and the grouping.
pub fn orders_by_last_name(
    conn: &mut DbConnection,
    limit: i64,
) -> QueryResult<Vec<LastNameOrders>> {
    diesel::sql_query(include_str!("orders_by_last_name.sql"))
        .bind::<BigInt, _>(limit)
        .load(conn)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, QueryableByName, utoipa::ToSchema)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct RankedCustomer {
    #[diesel(sql_type = BigInt)]
    pub rank: i64,
    #[diesel(sql_type = BigInt)]
    pub customer_id: i64,
    #[diesel(sql_type = Text)]
    pub first_name: String,
    #[diesel(sql_type = Text)]
    pub last_name: String,
    #[diesel(sql_type = BigInt)]
    pub order_count: i64,
    #[diesel(sql_type = BigInt)]
    pub total_spend_cents: i64,
}

/// `GET /reports/top-customers`: customers ranked by spend, ties sharing a rank.
///
/// Raw because it is a pipeline of named steps (`WITH spend ..., order_counts ..., leaders ...`)
/// ending in a window function. Diesel 2.3 can write `RANK() OVER (...)`, but not common
/// table expressions, so the DSL version would nest subqueries four deep; and ranking in Rust
/// would move every customer's spend to the application to keep ten rows.
pub fn top_customers(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<RankedCustomer>> {
    diesel::sql_query(include_str!("top_customers.sql"))
        .bind::<BigInt, _>(limit)
        .load(conn)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, QueryableByName, utoipa::ToSchema)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct MonthRevenue {
    #[diesel(sql_type = Text)]
    pub month: String,
    #[diesel(sql_type = BigInt)]
    pub order_count: i64,
    #[diesel(sql_type = BigInt)]
    pub revenue_cents: i64,
    #[diesel(sql_type = BigInt)]
    pub running_revenue_cents: i64,
}

/// A calendar month, `YYYY-MM` with a year from 0001 to 9999: the unit of the monthly report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    year: u16,
    month: u8,
}

impl Month {
    /// Months since the start of year 0, so that two months can be subtracted.
    pub fn ordinal(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }
}

/// Text that is not a month as `YYYY-MM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a month as YYYY-MM, like 2025-01")]
pub struct MalformedMonth(pub String);

impl FromStr for Month {
    type Err = MalformedMonth;

    /// Exactly four ASCII digits, a dash, two ASCII digits: no signs, no other digits (Rust's
    /// integer parser would take `+025` and full-width digits would not be ASCII).
    fn from_str(text: &str) -> Result<Month, MalformedMonth> {
        let malformed = || MalformedMonth(text.to_string());
        let bytes = text.as_bytes();
        if bytes.len() != 7 || bytes[4] != b'-' {
            return Err(malformed());
        }
        let number = |digits: &[u8]| {
            digits.iter().try_fold(0u16, |n, &d| {
                d.is_ascii_digit().then(|| n * 10 + u16::from(d - b'0'))
            })
        };
        match (number(&bytes[..4]), number(&bytes[5..])) {
            (Some(year @ 1..), Some(month @ 1..=12)) => Ok(Month {
                year,
                month: month as u8,
            }),
            _ => Err(malformed()),
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// `GET /reports/monthly-revenue`: every month of a range, empty months as zeros, with a
/// running total; `None` bounds default to the first and last month with a non-cancelled order.
///
/// Raw because it needs a generated series of months (a recursive CTE on SQLite,
/// `generate_series` on PostgreSQL) and a running `SUM() OVER (ORDER BY month)`: neither exists
/// in the DSL, and month arithmetic is where the two dialects differ most.
pub fn monthly_revenue(
    conn: &mut DbConnection,
    from: Option<Month>,
    to: Option<Month>,
) -> QueryResult<Vec<MonthRevenue>> {
    let text = sql(
        conn,
        include_str!("postgres/monthly_revenue.sql"),
        include_str!("sqlite/monthly_revenue.sql"),
    );
    diesel::sql_query(text)
        .bind::<Nullable<Text>, _>(from.map(|month| month.to_string()))
        .bind::<Nullable<Text>, _>(to.map(|month| month.to_string()))
        .load(conn)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, QueryableByName, utoipa::ToSchema)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct CategoryRevenue {
    #[diesel(sql_type = BigInt)]
    pub category_id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub parent_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub depth: i64,
    #[diesel(sql_type = Text)]
    pub path: String,
    #[diesel(sql_type = BigInt)]
    pub own_revenue_cents: i64,
    #[diesel(sql_type = BigInt)]
    pub revenue_cents: i64,
}

/// `GET /reports/category-revenue`: revenue rolled up the category tree.
///
/// Raw because of the recursion: a tree of unknown depth is one `WITH RECURSIVE` in SQL. The
/// ORM's way is a query per level (or loading every category and walking the tree in Rust),
/// which is the N+1 again, sideways.
pub fn category_revenue(conn: &mut DbConnection) -> QueryResult<Vec<CategoryRevenue>> {
    diesel::sql_query(include_str!("category_revenue.sql")).load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_must_be_yyyy_mm() {
        assert_eq!("2025-01".parse::<Month>().unwrap().to_string(), "2025-01");
        assert_eq!("0001-12".parse::<Month>().unwrap().to_string(), "0001-12");
        for bad in [
            "2025-1",
            "2025-13",
            "2025-00",
            "25-01",
            "2025/01",
            "２０２５-01",
            "2025-01-01",
            "+025-01",
            "0000-01",
            "'; DROP",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
    }

    #[test]
    fn months_subtract_across_years() {
        let month = |text: &str| text.parse::<Month>().unwrap();
        assert_eq!(month("2026-02").ordinal() - month("2025-11").ordinal(), 3);
    }
}
