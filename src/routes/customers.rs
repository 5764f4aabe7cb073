//! `/customers`: CRUD over HTTP, `/customers/{id}/orders`, and the all-or-nothing bulk insert.

use actix_web::HttpResponse;
use serde_json::json;

use super::input::{Body, CustomerBatch, CustomerForm, CustomerQuery, Params, PathId};
use super::{created, no_content, Db, Items};
use crate::error::{ApiError, FieldError};
use crate::models::{now, BulkInsertError, Customer, CustomerChanges, NewCustomer, Order, Paged};

pub async fn list(db: Db, Params(query): Params<CustomerQuery>) -> Result<HttpResponse, ApiError> {
    let page = query.page;
    let customers = db
        .run(move |conn| Customer::page(conn, query.email.as_deref(), page))
        .await?;
    Ok(HttpResponse::Ok().json(Paged::new(customers, page, |c| c.customer_id)))
}

pub async fn get(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let customer = db.run(move |conn| Customer::find(conn, id)).await?;
    let customer = customer.ok_or_else(|| ApiError::not_found("customer", id))?;
    Ok(HttpResponse::Ok().json(customer))
}

/// A taken email is the unique index's answer (409), mapped in `error.rs`.
pub async fn create(db: Db, Body(form): Body<CustomerForm>) -> Result<HttpResponse, ApiError> {
    let customer = db
        .run(move |conn| {
            NewCustomer {
                first_name: &form.first_name,
                last_name: &form.last_name,
                email: &form.email,
                created_at: now(),
            }
            .insert(conn)
        })
        .await?;
    Ok(created(
        format!("/customers/{}", customer.customer_id),
        &customer,
    ))
}

pub async fn update(
    db: Db,
    PathId(id): PathId,
    Body(changes): Body<CustomerChanges>,
) -> Result<HttpResponse, ApiError> {
    let customer = db
        .run(move |conn| Customer::update(conn, id, &changes))
        .await?;
    let customer = customer.ok_or_else(|| ApiError::not_found("customer", id))?;
    Ok(HttpResponse::Ok().json(customer))
}

pub async fn delete(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let deleted = db
        .run(move |conn| {
            Customer::delete(conn, id)
                .map_err(ApiError::still_referenced("the customer has orders"))
        })
        .await?;
    if !deleted {
        return Err(ApiError::not_found("customer", id));
    }
    Ok(no_content())
}

/// `GET /customers/{id}/orders`: the customer's orders, each with its items.
pub async fn orders(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let orders = db
        .run(move |conn| Order::of_customer_with_items(conn, id))
        .await?;
    let orders = orders.ok_or_else(|| ApiError::not_found("customer", id))?;
    Ok(HttpResponse::Ok().json(Items { items: orders }))
}

/// `POST /customers/bulk`: every customer valid (checked by `CustomerBatch`), then all of them
/// in multi-row statements inside one transaction, or none.
pub async fn bulk_create(
    db: Db,
    Body(CustomerBatch(forms)): Body<CustomerBatch>,
) -> Result<HttpResponse, ApiError> {
    let inserted = db
        .run(move |conn| {
            let created_at = now();
            let rows: Vec<NewCustomer> = forms
                .iter()
                .map(|form| NewCustomer {
                    first_name: &form.first_name,
                    last_name: &form.last_name,
                    email: &form.email,
                    created_at,
                })
                .collect();
            NewCustomer::insert_all(conn, &rows)
        })
        .await?;
    Ok(HttpResponse::Created().json(json!({ "inserted": inserted })))
}

/// Both ways a batch can clash with the unique emails are a 409 naming each element.
impl From<BulkInsertError> for ApiError {
    fn from(err: BulkInsertError) -> ApiError {
        let detail = err.to_string();
        let errors = match err {
            BulkInsertError::RepeatedEmails(repeats) => repeats
                .into_iter()
                .map(|(i, first)| {
                    FieldError::new(format!("[{i}].email"), format!("repeats [{first}].email"))
                })
                .collect(),
            BulkInsertError::TakenEmails(positions) => positions
                .into_iter()
                .map(|i| FieldError::new(format!("[{i}].email"), "is already taken"))
                .collect(),
            BulkInsertError::Database(err) => return ApiError::from(err),
        };
        ApiError::Conflict { detail, errors }
    }
}
