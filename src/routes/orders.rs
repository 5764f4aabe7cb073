//! `/orders`: placing orders, listing them with their items, moving them through the status
//! machine.

use actix_web::HttpResponse;
use serde_json::json;

use super::input::{Body, BulkStatusChange, OrderForm, OrderQuery, Params, PathId, StatusChange};
use super::{created, no_content, Db};
use crate::error::{ApiError, FieldError};
use crate::models::{Order, Paged, PlaceOrderError, StatusChangeError};

/// `GET /orders`: a page of orders with their items, in two statements (orders, then all their
/// items through `belonging_to`), whatever the page size.
pub async fn list(db: Db, Params(query): Params<OrderQuery>) -> Result<HttpResponse, ApiError> {
    let OrderQuery { page, filter } = query;
    let orders = db
        .run(move |conn| {
            let orders = Order::page(conn, filter, page)?;
            Order::with_items(conn, orders)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Paged::new(orders, page, |o| o.order_id)))
}

pub async fn get(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let order = db.run(move |conn| Order::find_with_items(conn, id)).await?;
    let order = order.ok_or_else(|| ApiError::not_found("order", id))?;
    Ok(HttpResponse::Ok().json(order))
}

pub async fn create(db: Db, Body(form): Body<OrderForm>) -> Result<HttpResponse, ApiError> {
    let order = db
        .run(move |conn| Order::place(conn, form.customer_id, &form.lines))
        .await?;
    Ok(created(format!("/orders/{}", order.order_id), &order))
}

/// The order named a customer or products that do not exist: a 422 naming each field.
impl From<PlaceOrderError> for ApiError {
    fn from(err: PlaceOrderError) -> ApiError {
        match err {
            PlaceOrderError::UnknownCustomer => {
                ApiError::unprocessable("customer_id", "does not exist")
            }
            PlaceOrderError::UnknownProducts(lines) => ApiError::Unprocessable(
                lines
                    .into_iter()
                    .map(|i| FieldError::new(format!("items[{i}].product_id"), "does not exist"))
                    .collect(),
            ),
            PlaceOrderError::Database(err) => ApiError::from(err),
        }
    }
}

pub async fn update(
    db: Db,
    PathId(id): PathId,
    Body(change): Body<StatusChange>,
) -> Result<HttpResponse, ApiError> {
    let order = db
        .run(move |conn| Order::change_status(conn, id, change.to))
        .await?;
    let order = order.ok_or_else(|| ApiError::not_found("order", id))?;
    Ok(HttpResponse::Ok().json(order))
}

/// A move the status machine forbids, and a move that lost a race, are both a 409: the
/// request clashes with the order's current state.
impl From<StatusChangeError> for ApiError {
    fn from(err: StatusChangeError) -> ApiError {
        match err {
            StatusChangeError::Forbidden { .. } | StatusChangeError::Raced => {
                ApiError::conflict(err.to_string())
            }
            StatusChangeError::Database(err) => ApiError::from(err),
        }
    }
}

pub async fn delete(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let deleted = db.run(move |conn| Order::delete(conn, id)).await?;
    if !deleted {
        return Err(ApiError::not_found("order", id));
    }
    Ok(no_content())
}

/// `POST /orders/bulk-status`: one set-based `UPDATE`, never a loop over orders.
pub async fn bulk_status(
    db: Db,
    Body(change): Body<BulkStatusChange>,
) -> Result<HttpResponse, ApiError> {
    let BulkStatusChange {
        from,
        to,
        placed_before,
    } = change;
    let updated = db
        .run(move |conn| Order::bulk_change_status(conn, from, to, placed_before))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "updated": updated })))
}
