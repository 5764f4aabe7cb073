//! `/products`: the catalogue over HTTP.

use actix_web::HttpResponse;

use super::input::{
    Body, Params, PathId, ProductForm, ProductQuery, RawProduct, RawProductPatch, RawProductQuery,
};
use super::{created, no_content, Db};
use crate::error::ApiError;
use crate::models::{NewProduct, Paged, Product, ProductChanges, ProductError};
use crate::openapi::{Conflict, NotFound, Unprocessable};

/// A page of products by id, optionally of one category.
#[utoipa::path(get, path = "/products", tag = "products", operation_id = "list_products",
    params(RawProductQuery),
    responses((status = 200, description = "A page of products.", body = Paged<Product>)))]
pub async fn list(db: Db, Params(query): Params<ProductQuery>) -> Result<HttpResponse, ApiError> {
    let ProductQuery { page, category_id } = query;
    let products = db
        .run(move |conn| Product::page(conn, category_id, page))
        .await?;
    Ok(HttpResponse::Ok().json(Paged::new(products, page, |p| p.product_id)))
}

/// One product.
#[utoipa::path(get, path = "/products/{id}", tag = "products", operation_id = "get_product",
    params(PathId),
    responses((status = 200, description = "The product.", body = Product), (status = 404, response = NotFound)))]
pub async fn get(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let product = db.run(move |conn| Product::find(conn, id)).await?;
    let product = product.ok_or_else(|| ApiError::not_found("product", id))?;
    Ok(HttpResponse::Ok().json(product))
}

/// Creates a product. A taken `sku` is the unique index's answer (409), mapped in `error.rs`.
#[utoipa::path(post, path = "/products", tag = "products", operation_id = "create_product",
    request_body = RawProduct,
    responses(
        (status = 201, description = "Created.", body = Product, headers(("Location" = String, description = "`/products/{id}`")),
            links(("GetProduct" = (operation_id = "get_product", parameters(("id" = "$response.body#/product_id")))))),
        (status = 409, response = Conflict), (status = 422, response = Unprocessable)))]
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

/// Changes only the fields given; orders keep the price they copied.
#[utoipa::path(patch, path = "/products/{id}", tag = "products", operation_id = "update_product",
    params(PathId), request_body = RawProductPatch,
    responses((status = 200, description = "The product as changed.", body = Product), (status = 404, response = NotFound),
        (status = 409, response = Conflict), (status = 422, response = Unprocessable)))]
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

/// Deletes a product that no order item references.
#[utoipa::path(delete, path = "/products/{id}", tag = "products", operation_id = "delete_product",
    params(PathId),
    responses((status = 204, description = "Deleted."), (status = 404, response = NotFound), (status = 409, response = Conflict)))]
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
