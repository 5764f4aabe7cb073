//! Customers: plain CRUD through Diesel's compile-time-checked query builder.
//!
//! Every query names its columns through `Customer::as_select()`, so a struct that drifts from
//! `schema.rs` is a compile error, not a runtime surprise.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::models::{rfc3339, Page};
use crate::schema::customers;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = customers, primary_key(customer_id))]
pub struct Customer {
    pub customer_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    #[serde(with = "rfc3339")]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = customers)]
pub struct NewCustomer<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    /// Already lower-cased: see `validate::Rules::email`.
    pub email: &'a str,
    pub created_at: NaiveDateTime,
}

/// A PATCH: `None` leaves the column out of the `UPDATE` entirely.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = customers)]
pub struct CustomerChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

impl CustomerChanges {
    /// Diesel refuses an `UPDATE` with nothing to set, so an empty PATCH must not reach it.
    pub fn is_empty(&self) -> bool {
        self.first_name.is_none() && self.last_name.is_none() && self.email.is_none()
    }
}

impl Customer {
    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Customer>> {
        customers::table
            .find(id)
            .select(Customer::as_select())
            .first(conn)
            .optional()
    }

    pub fn exists(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(customers::table.find(id))).get_result(conn)
    }

    /// One keyset page, optionally only the customer with an exact (already lower-cased) email.
    pub fn page(
        conn: &mut DbConnection,
        email: Option<&str>,
        page: Page,
    ) -> QueryResult<Vec<Customer>> {
        // `into_boxed` lets the filter be added conditionally; the query stays fully typed.
        let mut query = customers::table
            .select(Customer::as_select())
            .filter(customers::customer_id.gt(page.after))
            .order(customers::customer_id)
            .limit(page.limit)
            .into_boxed();
        if let Some(email) = email {
            query = query.filter(customers::email.eq(email));
        }
        query.load(conn)
    }

    /// Applies the given changes and returns the new row, or `None` when no such customer.
    pub fn update(
        conn: &mut DbConnection,
        id: i64,
        changes: &CustomerChanges,
    ) -> QueryResult<Option<Customer>> {
        if changes.is_empty() {
            return Customer::find(conn, id);
        }
        diesel::update(customers::table.find(id))
            .set(changes)
            .returning(customers::all_columns)
            .get_result(conn)
            .optional()
    }

    /// Deletes a customer; `false` when there was none. A customer with orders is protected by
    /// the foreign key, which the caller sees as a violation (409).
    pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
        let deleted = diesel::delete(customers::table.find(id)).execute(conn)?;
        Ok(deleted == 1)
    }
}

impl NewCustomer<'_> {
    /// `INSERT ... RETURNING`: one round trip gives back the row with its id and defaults.
    ///
    /// `returning(customers::all_columns)` rather than `Customer::as_returning()`: Diesel 2.3's
    /// `MultiConnection` cannot yet carry the latter. The column list is still checked against
    /// `Customer`'s field types at compile time.
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<Customer> {
        diesel::insert_into(customers::table)
            .values(self)
            .returning(customers::all_columns)
            .get_result(conn)
    }
}
