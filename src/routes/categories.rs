//! `/categories`: the category tree over HTTP.

use actix_web::HttpResponse;

use super::input::{Body, CategoryForm, PathId, RawCategory, RawCategoryPatch};
use super::{created, no_content, Db, Items};
use crate::error::ApiError;
use crate::models::{Category, CategoryChanges, CategoryError, NewCategory};
use crate::openapi::{Conflict, NotFound, Unprocessable};

/// Every category, by id: the tree is small, so it is never paged.
#[utoipa::path(get, path = "/categories", tag = "categories", operation_id = "list_categories",
    responses((status = 200, description = "All categories.", body = Items<Category>)))]
pub async fn list(db: Db) -> Result<HttpResponse, ApiError> {
    let categories = db.run(Category::all).await?;
    Ok(HttpResponse::Ok().json(Items { items: categories }))
}

/// One category.
#[utoipa::path(get, path = "/categories/{id}", tag = "categories", operation_id = "get_category",
    params(PathId),
    responses((status = 200, description = "The category.", body = Category), (status = 404, response = NotFound)))]
pub async fn get(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let category = db.run(move |conn| Category::find(conn, id)).await?;
    let category = category.ok_or_else(|| ApiError::not_found("category", id))?;
    Ok(HttpResponse::Ok().json(category))
}

/// Creates a category under an existing parent, or a root.
#[utoipa::path(post, path = "/categories", tag = "categories", operation_id = "create_category",
    request_body = RawCategory,
    responses(
        (status = 201, description = "Created.", body = Category, headers(("Location" = String, description = "`/categories/{id}`")),
            links(("GetCategory" = (operation_id = "get_category", parameters(("id" = "$response.body#/category_id")))))),
        (status = 422, response = Unprocessable)))]
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

/// Renames a category or moves it; `"parent_id": null` makes it a root. A move that would make
/// a loop is a 422.
#[utoipa::path(patch, path = "/categories/{id}", tag = "categories", operation_id = "update_category",
    params(PathId), request_body = RawCategoryPatch,
    responses((status = 200, description = "The category as changed.", body = Category),
        (status = 404, response = NotFound), (status = 422, response = Unprocessable)))]
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

/// Deletes a category that has no products and no child categories.
#[utoipa::path(delete, path = "/categories/{id}", tag = "categories", operation_id = "delete_category",
    params(PathId),
    responses((status = 204, description = "Deleted."), (status = 404, response = NotFound), (status = 409, response = Conflict)))]
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
