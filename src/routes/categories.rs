//! `/categories`: the category tree over HTTP.

use actix_web::HttpResponse;

use super::input::{Body, CategoryForm, PathId};
use super::{created, no_content, Db, Items};
use crate::error::ApiError;
use crate::models::{Category, CategoryChanges, CategoryError, NewCategory};

pub async fn list(db: Db) -> Result<HttpResponse, ApiError> {
    let categories = db.run(Category::all).await?;
    Ok(HttpResponse::Ok().json(Items { items: categories }))
}

pub async fn get(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let category = db.run(move |conn| Category::find(conn, id)).await?;
    let category = category.ok_or_else(|| ApiError::not_found("category", id))?;
    Ok(HttpResponse::Ok().json(category))
}

pub async fn create(db: Db, Body(form): Body<CategoryForm>) -> Result<HttpResponse, ApiError> {
    let category = db
        .run(move |conn| {
            NewCategory {
                name: &form.name,
                parent_id: form.parent_id,
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
    Body(changes): Body<CategoryChanges>,
) -> Result<HttpResponse, ApiError> {
    let category = db
        .run(move |conn| Category::update(conn, id, &changes))
        .await?;
    let category = category.ok_or_else(|| ApiError::not_found("category", id))?;
    Ok(HttpResponse::Ok().json(category))
}

/// Both are rules about `parent_id` that the body broke: 422 on that field.
impl From<CategoryError> for ApiError {
    fn from(err: CategoryError) -> ApiError {
        match err {
            CategoryError::UnknownParent => ApiError::unprocessable("parent_id", "does not exist"),
            CategoryError::WouldCycle => {
                ApiError::unprocessable("parent_id", "would make the category its own ancestor")
            }
            CategoryError::Database(err) => ApiError::from(err),
        }
    }
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
