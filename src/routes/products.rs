//! `/products`: the catalogue over HTTP.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{created, no_content, page, present, Db, PathId, MAX_LIMIT};
use crate::error::ApiError;
use crate::models::{NewProduct, Paged, Product, ProductChanges};
use crate::validate::Rules;

/// The contract's price range: 0 to one million in currency units.
const MAX_PRICE_CENTS: i64 = 100_000_000;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<i64>,
    after: Option<i64>,
    category_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    sku: String,
    name: String,
    category_id: i64,
    unit_price_cents: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    #[serde(default, deserialize_with = "present")]
    sku: Option<String>,
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    category_id: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    unit_price_cents: Option<i64>,
}

pub async fn list(db: Db, query: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let page = page(query.limit, query.after, MAX_LIMIT)?;
    let category_id = query.category_id;
    let products = db
        .run(move |conn| Ok(Product::page(conn, category_id, page)?))
        .await?;
    Ok(HttpResponse::Ok().json(Paged::new(products, page, |p| p.product_id)))
}

pub async fn get(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let product = db.run(move |conn| Ok(Product::find(conn, id)?)).await?;
    let product = product.ok_or_else(|| ApiError::not_found("product", id))?;
    Ok(HttpResponse::Ok().json(product))
}

pub async fn create(db: Db, body: web::Json<ProductInput>) -> Result<HttpResponse, ApiError> {
    let mut rules = Rules::new();
    let sku = rules.text("sku", &body.sku, 64);
    let name = rules.text("name", &body.name, 200);
    rules.id("category_id", body.category_id);
    rules.range(
        "unit_price_cents",
        body.unit_price_cents,
        0,
        MAX_PRICE_CENTS,
    );
    rules.finish()?;
    let (category_id, unit_price_cents) = (body.category_id, body.unit_price_cents);
    let product = db
        .run(move |conn| {
            NewProduct {
                sku: &sku,
                name: &name,
                category_id,
                unit_price_cents,
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
    body: web::Json<ProductPatch>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut rules = Rules::new();
    let changes = ProductChanges {
        sku: body.sku.map(|v| rules.text("sku", &v, 64)),
        name: body.name.map(|v| rules.text("name", &v, 200)),
        category_id: body.category_id,
        unit_price_cents: body.unit_price_cents,
    };
    if let Some(category_id) = changes.category_id {
        rules.id("category_id", category_id);
    }
    if let Some(price) = changes.unit_price_cents {
        rules.range("unit_price_cents", price, 0, MAX_PRICE_CENTS);
    }
    rules.finish()?;
    let product = db
        .run(move |conn| Product::update(conn, id, &changes))
        .await?;
    let product = product.ok_or_else(|| ApiError::not_found("product", id))?;
    Ok(HttpResponse::Ok().json(product))
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
