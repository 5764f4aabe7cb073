//! `/customers`: CRUD over HTTP, `/customers/{id}/orders`, and the all-or-nothing bulk insert.

use actix_web::HttpResponse;
use serde::Serialize;

use super::input::{
    Body, CustomerBatch, CustomerForm, CustomerQuery, Params, PathId, RawCustomer,
    RawCustomerPatch, RawCustomerQuery,
};
use super::{created, no_content, Db, Items};
use crate::error::{ApiError, FieldError};
use crate::models::{
    now, BulkInsertError, Customer, CustomerChanges, NewCustomer, Order, OrderWithItems, Paged,
};
use crate::openapi::{Conflict, NotFound, Unprocessable};

/// A page of customers by id.
#[utoipa::path(get, path = "/customers", tag = "customers", operation_id = "list_customers",
    params(RawCustomerQuery),
    responses((status = 200, description = "A page of customers.", body = Paged<Customer>)))]
pub async fn list(db: Db, Params(query): Params<CustomerQuery>) -> Result<HttpResponse, ApiError> {
    let page = query.page;
    let customers = db
        .run(move |conn| Customer::page(conn, query.email.as_deref(), page))
        .await?;
    Ok(HttpResponse::Ok().json(Paged::new(customers, page, |c| c.customer_id)))
}

/// One customer.
#[utoipa::path(get, path = "/customers/{id}", tag = "customers", operation_id = "get_customer",
    params(PathId),
    responses((status = 200, description = "The customer.", body = Customer), (status = 404, response = NotFound)))]
pub async fn get(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let customer = db.run(move |conn| Customer::find(conn, id)).await?;
    let customer = customer.ok_or_else(|| ApiError::not_found("customer", id))?;
    Ok(HttpResponse::Ok().json(customer))
}

/// Creates a customer. A taken email is the unique index's answer (409), mapped in `error.rs`.
#[utoipa::path(post, path = "/customers", tag = "customers", operation_id = "create_customer",
    request_body = RawCustomer,
    responses(
        (status = 201, description = "Created.", body = Customer, headers(("Location" = String, description = "`/customers/{id}`")),
            links(("GetCustomer" = (operation_id = "get_customer", parameters(("id" = "$response.body#/customer_id")))),
                  ("CustomerOrders" = (operation_id = "list_customer_orders", parameters(("id" = "$response.body#/customer_id")))))),
        (status = 409, response = Conflict), (status = 422, response = Unprocessable)))]
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

/// Changes only the fields given.
#[utoipa::path(patch, path = "/customers/{id}", tag = "customers", operation_id = "update_customer",
    params(PathId), request_body = RawCustomerPatch,
    responses((status = 200, description = "The customer as changed.", body = Customer), (status = 404, response = NotFound), (status = 409, response = Conflict), (status = 422, response = Unprocessable)))]
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

/// Deletes a customer who has no orders.
#[utoipa::path(delete, path = "/customers/{id}", tag = "customers", operation_id = "delete_customer",
    params(PathId),
    responses((status = 204, description = "Deleted."), (status = 404, response = NotFound), (status = 409, response = Conflict)))]
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

/// The customer's orders, each with its items, in three statements however many there are.
#[utoipa::path(get, path = "/customers/{id}/orders", tag = "customers", operation_id = "list_customer_orders",
    params(PathId),
    responses((status = 200, description = "Every order of the customer, by id.", body = Items<OrderWithItems>), (status = 404, response = NotFound)))]
pub async fn orders(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let orders = db
        .run(move |conn| Order::of_customer_with_items(conn, id))
        .await?;
    let orders = orders.ok_or_else(|| ApiError::not_found("customer", id))?;
    Ok(HttpResponse::Ok().json(Items { items: orders }))
}

/// How many customers a bulk insert wrote.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Inserted {
    pub inserted: usize,
}

/// Inserts 1 to 10,000 customers in multi-row statements inside one transaction, all or none.
///
/// Every customer must be valid (checked by `CustomerBatch`) and every email new and unrepeated.
#[utoipa::path(post, path = "/customers/bulk", tag = "customers", operation_id = "bulk_create_customers",
    request_body(content = Vec<RawCustomer>, description = "1 to 10,000 customers."),
    responses((status = 201, description = "All inserted.", body = Inserted), (status = 409, response = Conflict), (status = 422, response = Unprocessable)))]
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
    Ok(HttpResponse::Created().json(Inserted { inserted }))
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
