//! Customers: plain CRUD through Diesel's compile-time-checked query builder.
//!
//! Every query names its columns through `Customer::as_select()`, so a struct that drifts from
//! `schema.rs` is a compile error, not a runtime surprise.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::{self, DbConnection};
use crate::models::{rfc3339, Page};
use crate::per_backend;
use crate::schema::customers;

#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema,
)]
#[diesel(table_name = customers, primary_key(customer_id))]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
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
    /// Already lower-cased: see `routes::input::Email`.
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
        // A hot read: on the concrete connection (see `per_backend!`).
        per_backend!(conn, |c| customers::table
            .find(id)
            .select(Customer::as_select())
            .first(c)
            .optional())
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
        // `into_boxed` lets the filter be added conditionally; the query stays fully typed. A
        // boxed query belongs to one backend, so it is built inside `per_backend!`.
        per_backend!(conn, |c| {
            let mut query = customers::table
                .select(Customer::as_select())
                .filter(customers::customer_id.gt(page.after()))
                .order(customers::customer_id)
                .limit(page.limit())
                .into_boxed();
            if let Some(email) = email {
                query = query.filter(customers::email.eq(email));
            }
            query.load(c)
        })
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
    /// the foreign key, which the caller sees as a foreign-key violation.
    pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
        let deleted = diesel::delete(customers::table.find(id)).execute(conn)?;
        Ok(deleted == 1)
    }
}

impl NewCustomer<'_> {
    /// `INSERT ... RETURNING`: one round trip gives back the row with its id and defaults.
    /// (`all_columns` rather than `as_returning()`: see the `models` module.) No "is this email
    /// taken?" query first: two requests could both pass it. The unique index decides, and its
    /// violation comes back as a `DatabaseError(UniqueViolation, ..)`.
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<Customer> {
        diesel::insert_into(customers::table)
            .values(self)
            .returning(customers::all_columns)
            .get_result(conn)
    }
}

/// Columns a `NewCustomer` binds, and so bind parameters per row of a multi-row `INSERT`.
const NEW_CUSTOMER_COLUMNS: usize = 4;

/// Why [`NewCustomer::insert_all`] inserted nothing. The batch is all or nothing.
#[derive(Debug, thiserror::Error)]
pub enum BulkInsertError {
    /// Addresses that appear more than once in the batch: for each repeat, its position and
    /// the position of the address's first appearance.
    #[error("{} email address(es) are repeated within the batch", .0.len())]
    RepeatedEmails(Vec<(usize, usize)>),
    /// Addresses that are already stored: their positions in the batch.
    #[error("{} email address(es) are already taken", .0.len())]
    TakenEmails(Vec<usize>),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl NewCustomer<'_> {
    /// Inserts a whole batch, all or nothing: `POST /customers/bulk`.
    ///
    /// Repeats within the batch are found in memory, before any statement. Then, inside one
    /// write transaction: one `SELECT ... WHERE email IN (...)` finds addresses that are
    /// already taken, and multi-row `INSERT`s, each filled up to the backend's bind-parameter
    /// limit, write the rows. 10,000 customers are two statements on SQLite and one on
    /// PostgreSQL, not 10,000.
    pub fn insert_all(
        conn: &mut DbConnection,
        rows: &[NewCustomer<'_>],
    ) -> Result<usize, BulkInsertError> {
        let repeated = repeated_emails(rows);
        if !repeated.is_empty() {
            return Err(BulkInsertError::RepeatedEmails(repeated));
        }
        db::write_transaction(conn, |conn| {
            let mut taken: HashSet<String> = HashSet::new();
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
                let positions = rows
                    .iter()
                    .enumerate()
                    .filter(|(_, row)| taken.contains(row.email))
                    .map(|(i, _)| i)
                    .collect();
                return Err(BulkInsertError::TakenEmails(positions));
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

/// Every address that appears again later in `rows`, as (its position, the position where it
/// first appeared). One pass with a map: a 10,000-row batch costs 10,000 lookups.
fn repeated_emails(rows: &[NewCustomer<'_>]) -> Vec<(usize, usize)> {
    let mut first_seen: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
    rows.iter()
        .enumerate()
        .filter_map(|(i, row)| {
            let first = *first_seen.entry(row.email).or_insert(i);
            (first != i).then_some((i, first))
        })
        .collect()
}
