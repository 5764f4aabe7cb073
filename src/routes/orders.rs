//! `/orders`: placing orders, listing them with their items, moving them through the status
//! machine.

use std::collections::HashSet;

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{created, no_content, page, Db, PathId, MAX_LIMIT};
use crate::error::ApiError;
use crate::models::{NewOrderLine, Order, OrderFilter, OrderStatus, Paged};
use crate::validate::Rules;

/// Most lines one order may have. Not in the contract: it keeps a single order's statements
/// well inside every backend's bind-parameter limit; real carts are far smaller.
pub const MAX_ORDER_LINES: usize = 1000;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<i64>,
    after: Option<i64>,
    customer_id: Option<i64>,
    status: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    customer_id: i64,
    items: Vec<LineInput>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    product_id: i64,
    quantity: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkStatusInput {
    from_status: String,
    to_status: String,
    /// RFC 3339, e.g. `2025-06-01T00:00:00Z`; any offset is converted to UTC.
    #[serde(default)]
    placed_before: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    status: String,
}

/// `GET /orders`: a page of orders with their items, in two statements (orders, then all their
/// items through `belonging_to`), whatever the page size.
pub async fn list(db: Db, query: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let page = page(query.limit, query.after, MAX_LIMIT)?;
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(OrderStatus::parse(text).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "status {text:?} is not one of pending, paid, shipped, delivered, cancelled"
            ))
        })?),
    };
    let filter = OrderFilter {
        customer_id: query.customer_id,
        status,
    };
    let orders = db
        .run(move |conn| {
            let orders = Order::page(conn, filter, page)?;
            Ok(Order::with_items(conn, orders)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Paged::new(orders, page, |o| o.order_id)))
}

pub async fn get(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let order = db
        .run(move |conn| Ok(Order::find_with_items(conn, id)?))
        .await?;
    let order = order.ok_or_else(|| ApiError::not_found("order", id))?;
    Ok(HttpResponse::Ok().json(order))
}

pub async fn create(db: Db, body: web::Json<OrderInput>) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut rules = Rules::new();
    rules.id("customer_id", body.customer_id);
    if body.items.is_empty() {
        rules.fail("items", "must list at least one product");
    } else if body.items.len() > MAX_ORDER_LINES {
        rules.fail(
            "items",
            format!("must list at most {MAX_ORDER_LINES} products"),
        );
    }
    let mut seen = HashSet::new();
    for (i, line) in body.items.iter().enumerate() {
        rules.id(format!("items[{i}].product_id"), line.product_id);
        rules.range(format!("items[{i}].quantity"), line.quantity, 1, 1000);
        if !seen.insert(line.product_id) {
            rules.fail(
                format!("items[{i}].product_id"),
                "is listed twice: give one line per product with its quantity",
            );
        }
    }
    rules.finish()?;
    let lines: Vec<NewOrderLine> = body
        .items
        .iter()
        .map(|line| NewOrderLine {
            product_id: line.product_id,
            // In 1..=1000, checked above.
            quantity: line.quantity as i32,
        })
        .collect();
    let customer_id = body.customer_id;
    let order = db
        .run(move |conn| Order::place(conn, customer_id, &lines))
        .await?;
    Ok(created(format!("/orders/{}", order.order_id), &order))
}

pub async fn update(
    db: Db,
    PathId(id): PathId,
    body: web::Json<StatusInput>,
) -> Result<HttpResponse, ApiError> {
    let to = OrderStatus::parse(&body.status).ok_or_else(|| {
        ApiError::unprocessable(
            "status",
            "must be one of pending, paid, shipped, delivered, cancelled",
        )
    })?;
    let order = db
        .run(move |conn| Order::change_status(conn, id, to))
        .await?;
    let order = order.ok_or_else(|| ApiError::not_found("order", id))?;
    Ok(HttpResponse::Ok().json(order))
}

pub async fn delete(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let deleted = db.run(move |conn| Ok(Order::delete(conn, id)?)).await?;
    if !deleted {
        return Err(ApiError::not_found("order", id));
    }
    Ok(no_content())
}

/// `POST /orders/bulk-status`: one set-based `UPDATE`, never a loop over orders.
pub async fn bulk_status(
    db: Db,
    body: web::Json<BulkStatusInput>,
) -> Result<HttpResponse, ApiError> {
    let mut rules = Rules::new();
    let mut status = |field: &str, text: &str| {
        let parsed = OrderStatus::parse(text);
        if parsed.is_none() {
            rules.fail(
                field,
                "must be one of pending, paid, shipped, delivered, cancelled",
            );
        }
        parsed
    };
    let from = status("from_status", &body.from_status);
    let to = status("to_status", &body.to_status);
    let before = match body.placed_before.as_deref() {
        None => None,
        Some(text) => match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(at) => Some(at.naive_utc()),
            Err(_) => {
                rules.fail("placed_before", "must be an RFC 3339 timestamp");
                None
            }
        },
    };
    rules.finish()?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::internal("statuses parsed but missing"));
    };
    if !from.can_move_to(to) {
        return Err(ApiError::conflict(format!(
            "orders cannot move from {from} to {to}"
        )));
    }
    let updated = db
        .run(move |conn| Ok(Order::bulk_change_status(conn, from, to, before)?))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "updated": updated })))
}
