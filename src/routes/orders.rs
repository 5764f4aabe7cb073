//! `/orders`: placing orders, listing them with their items, moving them through the status
//! machine.

use actix_web::HttpResponse;
use serde::Serialize;

use super::input::{
    Body, BulkStatusChange, OrderForm, OrderQuery, Params, PathId, RawBulkStatus, RawOrder,
    RawOrderQuery, RawStatusChange, StatusChange,
};
use super::{created, no_content, Db};
use crate::error::{ApiError, FieldError};
use crate::models::{Order, OrderWithItems, Paged, PlaceOrderError, StatusChangeError};
use crate::openapi::{Conflict, NotFound, Unprocessable};

/// A page of orders with their items, in two statements (orders, then all their items through
/// `belonging_to`), whatever the page size.
#[utoipa::path(get, path = "/orders", tag = "orders", operation_id = "list_orders",
    params(RawOrderQuery),
    responses((status = 200, description = "A page of orders.", body = Paged<OrderWithItems>)))]
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

/// One order with its items.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders", operation_id = "get_order",
    params(PathId),
    responses((status = 200, description = "The order.", body = OrderWithItems), (status = 404, response = NotFound)))]
pub async fn get(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let order = db.run(move |conn| Order::find_with_items(conn, id)).await?;
    let order = order.ok_or_else(|| ApiError::not_found("order", id))?;
    Ok(HttpResponse::Ok().json(order))
}

/// Places an order, `pending`, in one transaction: on any failure nothing is written.
#[utoipa::path(post, path = "/orders", tag = "orders", operation_id = "create_order",
    request_body = RawOrder,
    responses(
        (status = 201, description = "Placed.", body = OrderWithItems, headers(("Location" = String, description = "`/orders/{id}`")),
            links(("GetOrder" = (operation_id = "get_order", parameters(("id" = "$response.body#/order_id")))),
                  ("PayOrder" = (operation_id = "update_order", parameters(("id" = "$response.body#/order_id")))))),
        (status = 422, response = Unprocessable)))]
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

/// Moves an order to another status, if the status machine allows it (else 409).
#[utoipa::path(patch, path = "/orders/{id}", tag = "orders", operation_id = "update_order",
    params(PathId), request_body = RawStatusChange,
    responses((status = 200, description = "The order as changed.", body = OrderWithItems), (status = 404, response = NotFound),
        (status = 409, response = Conflict), (status = 422, response = Unprocessable)))]
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

/// Deletes an order; its items go with it.
#[utoipa::path(delete, path = "/orders/{id}", tag = "orders", operation_id = "delete_order",
    params(PathId),
    responses((status = 204, description = "Deleted."), (status = 404, response = NotFound)))]
pub async fn delete(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let deleted = db.run(move |conn| Order::delete(conn, id)).await?;
    if !deleted {
        return Err(ApiError::not_found("order", id));
    }
    Ok(no_content())
}

/// How many orders a bulk status change moved.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Updated {
    pub updated: usize,
}

/// Moves every matching order in one set-based `UPDATE`, never a loop over orders.
#[utoipa::path(post, path = "/orders/bulk-status", tag = "orders", operation_id = "bulk_change_order_status",
    request_body = RawBulkStatus,
    responses((status = 200, description = "Moved.", body = Updated), (status = 409, response = Conflict),
        (status = 422, response = Unprocessable)))]
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
    Ok(HttpResponse::Ok().json(Updated { updated }))
}
