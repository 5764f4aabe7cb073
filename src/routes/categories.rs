//! `/categories`: the category tree over HTTP.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{created, no_content, present, Db, Items, PathId};
use crate::error::ApiError;
use crate::models::{Category, CategoryChanges, NewCategory};
use crate::validate::Rules;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    name: String,
    #[serde(default)]
    parent_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatch {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    /// Absent: unchanged. `null`: becomes a root. A number: moves under that category.
    #[serde(default, deserialize_with = "present")]
    parent_id: Option<Option<i64>>,
}

pub async fn list(db: Db) -> Result<HttpResponse, ApiError> {
    let categories = db.run(|conn| Ok(Category::all(conn)?)).await?;
    Ok(HttpResponse::Ok().json(Items { items: categories }))
}

pub async fn get(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let category = db.run(move |conn| Ok(Category::find(conn, id)?)).await?;
    let category = category.ok_or_else(|| ApiError::not_found("category", id))?;
    Ok(HttpResponse::Ok().json(category))
}

pub async fn create(db: Db, body: web::Json<CategoryInput>) -> Result<HttpResponse, ApiError> {
    let mut rules = Rules::new();
    let name = rules.text("name", &body.name, 100);
    let parent_id = body.parent_id;
    if let Some(parent_id) = parent_id {
        rules.id("parent_id", parent_id);
    }
    rules.finish()?;
    let category = db
        .run(move |conn| {
            NewCategory {
                name: &name,
                parent_id,
            }
            .insert(conn)
        })
        .await?;
    Ok(created(
        format!("/categories/{}", category.category_id),
        &category,
    ))
}

pub async fn update(
    db: Db,
    PathId(id): PathId,
    body: web::Json<CategoryPatch>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut rules = Rules::new();
    let name = body.name.map(|v| rules.text("name", &v, 100));
    if let Some(Some(parent_id)) = body.parent_id {
        rules.id("parent_id", parent_id);
    }
    rules.finish()?;
    let changes = CategoryChanges {
        name,
        parent_id: body.parent_id,
    };
    let category = db
        .run(move |conn| Category::update(conn, id, &changes))
        .await?;
    let category = category.ok_or_else(|| ApiError::not_found("category", id))?;
    Ok(HttpResponse::Ok().json(category))
}

pub async fn delete(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let deleted = db
        .run(move |conn| {
            Category::delete(conn, id).map_err(ApiError::still_referenced(
                "the category has products or child categories",
            ))
        })
        .await?;
    if !deleted {
        return Err(ApiError::not_found("category", id));
    }
    Ok(no_content())
}
