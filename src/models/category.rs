//! Categories: a tree kept in one table by `parent_id`. Shows an update that must check the
//! whole tree first (no cycles), inside one write transaction.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::schema::categories;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = categories, primary_key(category_id))]
pub struct Category {
    pub category_id: i64,
    pub name: String,
    pub parent_id: Option<i64>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = categories)]
pub struct NewCategory<'a> {
    pub name: &'a str,
    pub parent_id: Option<i64>,
}

/// A PATCH. `parent_id` is doubly optional: `None` leaves it alone, `Some(None)` writes NULL
/// (the category becomes a root), `Some(Some(id))` moves it under `id`.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = categories)]
pub struct CategoryChanges {
    pub name: Option<String>,
    pub parent_id: Option<Option<i64>>,
}

impl Category {
    /// All categories by id. The tree is small (dozens of rows), so it is never paged.
    pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Category>> {
        categories::table
            .select(Category::as_select())
            .order(categories::category_id)
            .load(conn)
    }

    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Category>> {
        categories::table
            .find(id)
            .select(Category::as_select())
            .first(conn)
            .optional()
    }

    /// Applies a PATCH; `Ok(None)` when there is no such category.
    ///
    /// A new parent must exist and must not be the category itself or one of its descendants,
    /// or the tree would become a loop. The check walks up from the new parent, one query per
    /// level, inside the same write transaction as the update, so no concurrent move can slip
    /// between check and write (SQLite's `BEGIN IMMEDIATE` serializes writers; on PostgreSQL the
    /// `FOR UPDATE`-free walk is a disclosed simplification: two simultaneous moves that together
    /// form a loop could both pass; a production tree would lock the rows it walks).
    pub fn update(
        conn: &mut DbConnection,
        id: i64,
        changes: &CategoryChanges,
    ) -> Result<Option<Category>, ApiError> {
        db::write_transaction(conn, |conn| {
            if Category::find(conn, id)?.is_none() {
                return Ok(None);
            }
            if let Some(Some(new_parent)) = changes.parent_id {
                check_new_parent(conn, id, new_parent)?;
            }
            if changes.name.is_none() && changes.parent_id.is_none() {
                return Ok(Category::find(conn, id)?);
            }
            let updated = diesel::update(categories::table.find(id))
                .set(changes)
                .returning(categories::all_columns)
                .get_result(conn)
                .map_err(ApiError::unknown_reference("parent_id", "does not exist"))?;
            Ok(Some(updated))
        })
    }

    /// Deletes a category; `false` when there was none. Children and products hold it in place
    /// through their foreign keys (409).
    pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
        let deleted = diesel::delete(categories::table.find(id)).execute(conn)?;
        Ok(deleted == 1)
    }
}

/// Walks from `new_parent` up to its root; meeting `id` on the way means a cycle.
fn check_new_parent(conn: &mut DbConnection, id: i64, new_parent: i64) -> Result<(), ApiError> {
    let mut current = Some(new_parent);
    let mut steps = 0;
    while let Some(ancestor) = current {
        if ancestor == id {
            return Err(ApiError::unprocessable(
                "parent_id",
                "would make the category its own ancestor",
            ));
        }
        let parent: Option<Option<i64>> = categories::table
            .find(ancestor)
            .select(categories::parent_id)
            .first(conn)
            .optional()?;
        match parent {
            Some(next) => current = next,
            // Only the first step can miss: every stored parent_id points at a real row.
            None => return Err(ApiError::unprocessable("parent_id", "does not exist")),
        }
        steps += 1;
        if steps > 10_000 {
            return Err(ApiError::internal(
                "category tree deeper than 10,000 levels",
            ));
        }
    }
    Ok(())
}

impl NewCategory<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> Result<Category, ApiError> {
        diesel::insert_into(categories::table)
            .values(self)
            .returning(categories::all_columns)
            .get_result(conn)
            .map_err(ApiError::unknown_reference("parent_id", "does not exist"))
    }
}
