//! The row types and the queries that load and change them, one file per table.
//!
//! Each struct is named by its role, the way Diesel's derives want it:
//! - `Customer`: a row as loaded (`Queryable` + `Selectable` + `Identifiable`);
//! - `NewCustomer`: a row to insert (`Insertable`, borrowing its fields);
//! - `CustomerChanges`: a PATCH (`AsChangeset`; a `None` field is left out of the `UPDATE`,
//!   which is Diesel's version of an ORM's change tracking: only what you set is written).
//!
//! Queries are plain functions next to their struct taking `&mut DbConnection`. Nothing here
//! knows about HTTP: a query returns `QueryResult<T>`, and a write that can fail for a reason
//! of the shop's (an unknown product, a forbidden status move, a loop in the category tree)
//! returns a small error enum of its own that names that reason. The routes decide what each
//! reason means to an HTTP client.
//!
//! Every loaded struct carries `#[diesel(check_for_backend(Pg, Sqlite))]`: the derive then
//! checks at compile time, for both backends, that each field can be read from its column, and
//! a mismatch is reported at the struct rather than as a page of trait errors at a query.
//!
//! ## Why some writes say `returning(table::all_columns)`
//!
//! Loads select `Customer::as_select()`, which names each column by field. Writes would say
//! `.returning(Customer::as_returning())` for the same reason, and do where they run on a
//! concrete connection (inside [`per_backend!`](crate::per_backend)). On the `DbConnection`
//! itself Diesel 2.3 cannot compile it: the `MultiConnection` derive renders a `RETURNING`
//! clause by handing it to the inner backend's query builder, and `as_returning()` on a
//! `DbConnection` is a `SelectBy<_, MultiBackend>`, which only the multi-backend can render.
//! So single-row writes on `DbConnection` return `table::all_columns`: still checked at compile
//! time against the struct's field types, but by position, so a struct's fields must stay in
//! `schema.rs` order.

pub mod category;
pub mod customer;
pub mod order;
pub mod product;

pub use category::{Category, CategoryChanges, CategoryError, NewCategory};
pub use customer::{BulkInsertError, Customer, CustomerChanges, NewCustomer};
pub use order::{
    ItemLine, NewOrderLine, Order, OrderFilter, OrderItem, OrderStatus, OrderWithItems,
    PlaceOrderError, StatusChangeError,
};
pub use product::{NewProduct, Product, ProductChanges, ProductError};

use chrono::{NaiveDateTime, SubsecRound, Utc};
use serde::Serialize;

/// A keyset page request: rows with an id greater than `after`, at most `limit` of them.
///
/// Keyset (`WHERE id > $after ORDER BY id LIMIT $limit`) rather than `OFFSET`: every page costs
/// the same index range scan, and a row inserted while a client walks the list can neither be
/// skipped nor shown twice.
///
/// The fields are private so that every `Page` has `limit >= 1` and `after >= 0`; how large a
/// page an endpoint allows is the route's rule (`routes::input`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    limit: i64,
    after: i64,
}

impl Page {
    /// `None` unless `limit` is at least 1 and `after` is not negative.
    pub fn new(limit: i64, after: i64) -> Option<Page> {
        (limit >= 1 && after >= 0).then_some(Page { limit, after })
    }

    /// The first page of `limit` rows; a `limit` below 1 is taken as 1.
    pub fn first(limit: i64) -> Page {
        Page {
            limit: limit.max(1),
            after: 0,
        }
    }

    pub fn limit(self) -> i64 {
        self.limit
    }

    pub fn after(self) -> i64 {
        self.after
    }
}

/// One page of a list, as the contract shapes it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// The cursor for the next page: the last id when the page is full, else `null`.
    pub next_after: Option<i64>,
}

impl<T> Paged<T> {
    pub fn new(items: Vec<T>, page: Page, id_of: impl Fn(&T) -> i64) -> Paged<T> {
        let full = items.len() as i64 == page.limit();
        let next_after = if full { items.last().map(id_of) } else { None };
        Paged { items, next_after }
    }
}

/// Whether a write failed because a foreign key points at no row: an unknown `category_id`
/// on a product, an unknown `parent_id` on a category. Both backends report it as the same
/// kind, whatever their messages say.
fn is_foreign_key_violation(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        err,
        Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)
    )
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
        let page = Page::first(2);
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
