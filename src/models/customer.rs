//! Customers: plain CRUD through Diesel's compile-time-checked query builder.
//!
//! Every query names its columns through `Customer::as_select()`, so a struct that drifts from
//! `schema.rs` is a compile error, not a runtime surprise.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::{self, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::models::{rfc3339, Page};
use crate::per_backend;
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

/// `treat_none_as_default_value = false` keeps a batch of these one multi-row `INSERT` on
/// SQLite (see `NewOrderItem` in models/order.rs for why).
#[derive(Debug, Insertable)]
#[diesel(table_name = customers, treat_none_as_default_value = false)]
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
    /// `MultiConnection` cannot yet carry the latter. The columns are still checked against
    /// `Customer`'s field types at compile time, but by position: `Queryable` maps the n-th
    /// column to the n-th field, so the struct's field order must follow `schema.rs`.
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<Customer> {
        diesel::insert_into(customers::table)
            .values(self)
            .returning(customers::all_columns)
            .get_result(conn)
    }
}

/// Columns a `NewCustomer` binds, and so bind parameters per row of a multi-row `INSERT`.
const NEW_CUSTOMER_COLUMNS: usize = 4;

impl NewCustomer<'_> {
    /// Inserts a whole batch, all or nothing: `POST /customers/bulk`.
    ///
    /// Inside one write transaction: one `SELECT ... WHERE email IN (...)` finds addresses that
    /// are already taken (a 409 naming each), then multi-row `INSERT`s, each filled up to the
    /// backend's bind-parameter limit, write the rows. 10,000 customers are two statements on
    /// SQLite and one on PostgreSQL, not 10,000. The emails have been checked for repeats
    /// within the batch by the caller.
    pub fn insert_all(
        conn: &mut DbConnection,
        rows: &[NewCustomer<'_>],
    ) -> Result<usize, ApiError> {
        db::write_transaction(conn, |conn| {
            let mut taken: Vec<String> = Vec::new();
            for chunk in rows.chunks(db::max_id_list(conn.backend())) {
                let emails: Vec<&str> = chunk.iter().map(|row| row.email).collect();
                taken.extend(
                    customers::table
                        .filter(customers::email.eq_any(&emails))
                        .select(customers::email)
                        .load::<String>(conn)?,
                );
            }
            if !taken.is_empty() {
                let errors: Vec<FieldError> = rows
                    .iter()
                    .enumerate()
                    .filter(|(_, row)| taken.iter().any(|email| email == row.email))
                    .map(|(i, _)| FieldError::new(format!("[{i}].email"), "is already taken"))
                    .collect();
                return Err(ApiError::Conflict {
                    detail: format!("{} email address(es) are already taken", errors.len()),
                    errors,
                });
            }
            let mut inserted = 0;
            for chunk in rows.chunks(db::max_binds(conn.backend()) / NEW_CUSTOMER_COLUMNS) {
                // A multi-row INSERT does not go through the MultiConnection: see `per_backend!`.
                inserted += per_backend!(conn, |c| {
                    diesel::insert_into(customers::table)
                        .values(chunk)
                        .execute(c)
                })?;
            }
            Ok(inserted)
        })
    }
}
