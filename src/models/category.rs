//! Categories: a tree kept in one table by `parent_id`. Shows an update that must check the
//! whole tree first (no cycles), inside one write transaction.

use std::collections::HashSet;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::{self, DbConnection};
use crate::models::is_foreign_key_violation;
use crate::per_backend;
use crate::schema::categories;

#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema,
)]
#[diesel(table_name = categories, primary_key(category_id))]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
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

/// Why a category could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CategoryError {
    /// `parent_id` names no category.
    #[error("the parent category does not exist")]
    UnknownParent,
    /// The new parent is the category itself or one of its descendants: the tree would
    /// become a loop.
    #[error("the category would become its own ancestor")]
    WouldCycle,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl CategoryError {
    /// For the `INSERT` and `UPDATE` that set `parent_id`: its foreign key is the only one a
    /// category write can break, so a violation means the parent does not exist.
    fn from_write(err: diesel::result::Error) -> CategoryError {
        if is_foreign_key_violation(&err) {
            CategoryError::UnknownParent
        } else {
            CategoryError::Database(err)
        }
    }
}

impl Category {
    /// All categories by id. The tree is small (dozens of rows), so it is never paged.
    pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Category>> {
        per_backend!(conn, |c| categories::table
            .select(Category::as_select())
            .order(categories::category_id)
            .load(c))
    }

    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Category>> {
        // A hot read: on the concrete connection (see `per_backend!`).
        per_backend!(conn, |c| categories::table
            .find(id)
            .select(Category::as_select())
            .first(c)
            .optional())
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
    ) -> Result<Option<Category>, CategoryError> {
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
                .map_err(CategoryError::from_write)?;
            Ok(Some(updated))
        })
    }

    /// Deletes a category; `false` when there was none. Children and products hold it in place
    /// through their foreign keys: the caller sees a foreign-key violation.
    pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
        let deleted = diesel::delete(categories::table.find(id)).execute(conn)?;
        Ok(deleted == 1)
    }
}

/// Walks from `new_parent` up to its root; meeting `id` on the way means a cycle.
///
/// The walk remembers where it has been, so even a tree that already holds a loop (see the
/// simplification disclosed at [`Category::update`]) ends the walk instead of spinning: the
/// move is refused as a cycle.
fn check_new_parent(
    conn: &mut DbConnection,
    id: i64,
    new_parent: i64,
) -> Result<(), CategoryError> {
    let mut visited = HashSet::new();
    let mut current = Some(new_parent);
    while let Some(ancestor) = current {
        if ancestor == id || !visited.insert(ancestor) {
            return Err(CategoryError::WouldCycle);
        }
        let parent: Option<Option<i64>> = categories::table
            .find(ancestor)
            .select(categories::parent_id)
            .first(conn)
            .optional()?;
        // Only the first step can miss: every stored parent_id points at a real row.
        current = parent.ok_or(CategoryError::UnknownParent)?;
    }
    Ok(())
}

impl NewCategory<'_> {
    /// `INSERT ... RETURNING` (`all_columns`: see the `models` module).
    pub fn insert(&self, conn: &mut DbConnection) -> Result<Category, CategoryError> {
        diesel::insert_into(categories::table)
            .values(self)
            .returning(categories::all_columns)
            .get_result(conn)
            .map_err(CategoryError::from_write)
    }
}
