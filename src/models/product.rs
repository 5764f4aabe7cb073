//! Products: CRUD with a unique `sku` and a foreign key to `categories`.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::models::{is_foreign_key_violation, Page};
use crate::per_backend;
use crate::schema::products;

#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema,
)]
#[diesel(table_name = products, primary_key(product_id))]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Product {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub category_id: i64,
    pub unit_price_cents: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = products)]
pub struct NewProduct<'a> {
    pub sku: &'a str,
    pub name: &'a str,
    pub category_id: i64,
    pub unit_price_cents: i64,
}

/// A PATCH. A price change touches only this row: orders keep the price they copied.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = products)]
pub struct ProductChanges {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub category_id: Option<i64>,
    pub unit_price_cents: Option<i64>,
}

impl ProductChanges {
    pub fn is_empty(&self) -> bool {
        self.sku.is_none()
            && self.name.is_none()
            && self.category_id.is_none()
            && self.unit_price_cents.is_none()
    }
}

/// Why a product could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ProductError {
    /// `category_id` names no category.
    #[error("the category does not exist")]
    UnknownCategory,
    /// Anything else, a taken `sku` included (a unique violation).
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl ProductError {
    /// For the `INSERT` and `UPDATE`: `category_id` is the only foreign key a product write can
    /// break, so a violation means the category does not exist.
    fn from_write(err: diesel::result::Error) -> ProductError {
        if is_foreign_key_violation(&err) {
            ProductError::UnknownCategory
        } else {
            ProductError::Database(err)
        }
    }
}

impl Product {
    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Product>> {
        // A hot read: on the concrete connection (see `per_backend!`).
        per_backend!(conn, |c| products::table
            .find(id)
            .select(Product::as_select())
            .first(c)
            .optional())
    }

    pub fn page(
        conn: &mut DbConnection,
        category_id: Option<i64>,
        page: Page,
    ) -> QueryResult<Vec<Product>> {
        per_backend!(conn, |c| {
            let mut query = products::table
                .select(Product::as_select())
                .filter(products::product_id.gt(page.after()))
                .order(products::product_id)
                .limit(page.limit())
                .into_boxed();
            if let Some(category_id) = category_id {
                query = query.filter(products::category_id.eq(category_id));
            }
            query.load(c)
        })
    }

    /// Applies a PATCH; `Ok(None)` when there is no such product.
    pub fn update(
        conn: &mut DbConnection,
        id: i64,
        changes: &ProductChanges,
    ) -> Result<Option<Product>, ProductError> {
        if changes.is_empty() {
            return Ok(Product::find(conn, id)?);
        }
        diesel::update(products::table.find(id))
            .set(changes)
            .returning(products::all_columns)
            .get_result(conn)
            .optional()
            .map_err(ProductError::from_write)
    }

    /// Deletes a product; `false` when there was none. Order items that reference it hold it in
    /// place through their foreign key (the caller sees a violation): an order's history is
    /// never rewritten.
    pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
        let deleted = diesel::delete(products::table.find(id)).execute(conn)?;
        Ok(deleted == 1)
    }
}

impl NewProduct<'_> {
    /// `INSERT ... RETURNING` (`all_columns`: see the `models` module).
    pub fn insert(&self, conn: &mut DbConnection) -> Result<Product, ProductError> {
        diesel::insert_into(products::table)
            .values(self)
            .returning(products::all_columns)
            .get_result(conn)
            .map_err(ProductError::from_write)
    }
}
