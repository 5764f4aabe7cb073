//! The row types and the queries that load and change them, one file per table.
//!
//! Each struct is named by its role, the way Diesel's derives want it:
//! - `Customer`: a row as loaded (`Queryable` + `Selectable` + `Identifiable`);
//! - `NewCustomer`: a row to insert (`Insertable`, borrowing its fields);
//! - `CustomerChanges`: a PATCH (`AsChangeset`; a `None` field is left out of the `UPDATE`,
//!   which is Diesel's version of an ORM's change tracking: only what you set is written).
//!
//! Queries are plain functions next to their struct taking `&mut DbConnection`. Nothing here
//! knows about HTTP.

pub mod category;
pub mod customer;
pub mod order;
pub mod product;

pub use category::{Category, CategoryChanges, NewCategory};
pub use customer::{Customer, CustomerChanges, NewCustomer};
pub use order::{NewOrderLine, Order, OrderFilter, OrderItem, OrderStatus, OrderWithItems};
pub use product::{NewProduct, Product, ProductChanges};

use chrono::{NaiveDateTime, SubsecRound, Utc};
use serde::Serialize;

/// A keyset page request: rows with an id greater than `after`, at most `limit` of them.
///
/// Keyset (`WHERE id > $after ORDER BY id LIMIT $limit`) rather than `OFFSET`: every page costs
/// the same index range scan, and a row inserted while a client walks the list can neither be
/// skipped nor shown twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub after: i64,
}

/// One page of a list, as the contract shapes it.
#[derive(Debug, Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// The cursor for the next page: the last id when the page is full, else `null`.
    pub next_after: Option<i64>,
}

impl<T> Paged<T> {
    pub fn new(items: Vec<T>, page: Page, id_of: impl Fn(&T) -> i64) -> Paged<T> {
        let full = items.len() as i64 == page.limit;
        let next_after = if full { items.last().map(id_of) } else { None };
        Paged { items, next_after }
    }
}

/// The current time as stored: UTC, cut to microseconds. PostgreSQL keeps microseconds and
/// SQLite would keep the nanoseconds it is given; storing the common precision makes both
/// backends return identical rows.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Serializes a stored UTC timestamp as the contract writes it: RFC 3339, to the second, `Z`.
pub mod rfc3339 {
    use chrono::NaiveDateTime;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(at: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&at.format("%Y-%m-%dT%H:%M:%SZ"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_after_is_set_only_on_a_full_page() {
        let page = Page { limit: 2, after: 0 };
        assert_eq!(Paged::new(vec![1, 2], page, |x| *x).next_after, Some(2));
        assert_eq!(Paged::new(vec![1], page, |x| *x).next_after, None);
        assert_eq!(Paged::new(Vec::<i64>::new(), page, |x| *x).next_after, None);
    }

    #[test]
    fn timestamps_serialize_to_the_second_in_utc() {
        #[derive(Serialize)]
        struct At(#[serde(with = "rfc3339")] NaiveDateTime);
        let at = chrono::NaiveDate::from_ymd_opt(2025, 3, 1)
            .unwrap()
            .and_hms_micro_opt(12, 0, 5, 999_999)
            .unwrap();
        assert_eq!(
            serde_json::to_string(&At(at)).unwrap(),
            "\"2025-03-01T12:00:05Z\""
        );
    }
}
