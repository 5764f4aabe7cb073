//! `/products`: the catalogue over HTTP.

use actix_web::HttpResponse;

use super::input::{Body, Params, PathId, ProductForm, ProductQuery};
use super::{created, no_content, Db};
use crate::error::ApiError;
use crate::models::{NewProduct, Paged, Product, ProductChanges, ProductError};

pub async fn list(db: Db, Params(query): Params<ProductQuery>) -> Result<HttpResponse, ApiError> {
    let ProductQuery { page, category_id } = query;
    let products = db
        .run(move |conn| Product::page(conn, category_id, page))
        .await?;
    Ok(HttpResponse::Ok().json(Paged::new(products, page, |p| p.product_id)))
}

pub async fn get(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let product = db.run(move |conn| Product::find(conn, id)).await?;
    let product = product.ok_or_else(|| ApiError::not_found("product", id))?;
    Ok(HttpResponse::Ok().json(product))
}

/// A taken `sku` is the unique index's answer (409), mapped in `error.rs`.
pub async fn create(db: Db, Body(form): Body<ProductForm>) -> Result<HttpResponse, ApiError> {
    let product = db
        .run(move |conn| {
            NewProduct {
                sku: &form.sku,
                name: &form.name,
                category_id: form.category_id,
                unit_price_cents: form.unit_price_cents,
            }
            .insert(conn)
        })
        .await?;
    Ok(created(
        format!("/products/{}", product.product_id),
        &product,
    ))
}

pub async fn update(
    db: Db,
    PathId(id): PathId,
    Body(changes): Body<ProductChanges>,
) -> Result<HttpResponse, ApiError> {
    let product = db
        .run(move |conn| Product::update(conn, id, &changes))
        .await?;
    let product = product.ok_or_else(|| ApiError::not_found("product", id))?;
    Ok(HttpResponse::Ok().json(product))
}

/// An unknown category is a rule the body broke: 422 on `category_id`.
impl From<ProductError> for ApiError {
    fn from(err: ProductError) -> ApiError {
        match err {
            ProductError::UnknownCategory => {
                ApiError::unprocessable("category_id", "does not exist")
            }
            ProductError::Database(err) => ApiError::from(err),
        }
    }
}

pub async fn delete(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let deleted = db
        .run(move |conn| {
            Product::delete(conn, id).map_err(ApiError::still_referenced(
                "order items reference the product",
            ))
        })
        .await?;
    if !deleted {
        return Err(ApiError::not_found("product", id));
    }
    Ok(no_content())
}
