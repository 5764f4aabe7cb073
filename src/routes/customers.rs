//! `/customers`: CRUD over HTTP, and `/customers/{id}/orders`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{created, no_content, page, present, Db, Items, PathId, MAX_LIMIT};
use crate::error::{ApiError, FieldError};
use crate::models::{now, Customer, CustomerChanges, NewCustomer, Order, Paged};
use crate::validate::Rules;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<i64>,
    after: Option<i64>,
    email: Option<String>,
}

/// The body of `POST /customers`. Unknown fields are refused (400), not ignored: a client that
/// misspells a field should hear about it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    first_name: String,
    last_name: String,
    email: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    #[serde(default, deserialize_with = "present")]
    first_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    last_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    email: Option<String>,
}

pub async fn list(db: Db, query: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let page = page(query.limit, query.after, MAX_LIMIT)?;
    // Stored emails are lower-case, so lower-casing the filter makes it case-insensitive.
    let email = query.email.as_deref().map(|e| e.trim().to_lowercase());
    if email
        .as_deref()
        .is_some_and(|e| e.chars().any(char::is_control))
    {
        return Err(ApiError::BadRequest(
            "email must not contain control characters".to_string(),
        ));
    }
    let customers = db
        .run(move |conn| Ok(Customer::page(conn, email.as_deref(), page)?))
        .await?;
    Ok(HttpResponse::Ok().json(Paged::new(customers, page, |c| c.customer_id)))
}

pub async fn get(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let customer = db.run(move |conn| Ok(Customer::find(conn, id)?)).await?;
    let customer = customer.ok_or_else(|| ApiError::not_found("customer", id))?;
    Ok(HttpResponse::Ok().json(customer))
}

pub async fn create(db: Db, body: web::Json<CustomerInput>) -> Result<HttpResponse, ApiError> {
    let mut rules = Rules::new();
    let first_name = rules.text("first_name", &body.first_name, 100);
    let last_name = rules.text("last_name", &body.last_name, 100);
    let email = rules.email("email", &body.email);
    rules.finish()?;

    // No "is this email taken?" query first: two requests could both pass it. The unique
    // index decides, and its violation becomes a 409.
    let customer = db
        .run(move |conn| {
            let new = NewCustomer {
                first_name: &first_name,
                last_name: &last_name,
                email: &email,
                created_at: now(),
            };
            Ok(new.insert(conn)?)
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
    body: web::Json<CustomerPatch>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut rules = Rules::new();
    let changes = CustomerChanges {
        first_name: body.first_name.map(|v| rules.text("first_name", &v, 100)),
        last_name: body.last_name.map(|v| rules.text("last_name", &v, 100)),
        email: body.email.map(|v| rules.email("email", &v)),
    };
    rules.finish()?;
    let customer = db
        .run(move |conn| Ok(Customer::update(conn, id, &changes)?))
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

/// `GET /customers/{id}/orders`: the customer's orders, each with its items, in three
/// statements however many orders there are (customer, orders, items).
pub async fn orders(db: Db, PathId(id): PathId) -> Result<HttpResponse, ApiError> {
    let orders = db
        .run(move |conn| {
            let Some(customer) = Customer::find(conn, id)? else {
                return Err(ApiError::not_found("customer", id));
            };
            let orders = Order::of_customer(conn, &customer)?;
            Ok(Order::with_items(conn, orders)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items { items: orders }))
}

/// The most customers one `POST /customers/bulk` may carry.
pub const MAX_BULK: usize = 10_000;

/// `POST /customers/bulk`: validate every element, refuse repeated or taken emails, then insert
/// all of them in multi-row statements inside one transaction, or none.
pub async fn bulk_create(
    db: Db,
    body: web::Json<Vec<CustomerInput>>,
) -> Result<HttpResponse, ApiError> {
    let inputs = body.into_inner();
    if inputs.is_empty() || inputs.len() > MAX_BULK {
        return Err(ApiError::unprocessable(
            "body",
            format!("must hold between 1 and {MAX_BULK} customers"),
        ));
    }
    let mut rules = Rules::new();
    let clean: Vec<(String, String, String)> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            (
                rules.text(format!("[{i}].first_name"), &input.first_name, 100),
                rules.text(format!("[{i}].last_name"), &input.last_name, 100),
                rules.email(format!("[{i}].email"), &input.email),
            )
        })
        .collect();
    rules.finish()?;

    // The same address twice in one batch: name every repeat and the element it repeats.
    let mut first_seen = std::collections::HashMap::new();
    let repeats: Vec<FieldError> = clean
        .iter()
        .enumerate()
        .filter_map(
            |(i, (_, _, email))| match first_seen.insert(email.as_str(), i) {
                Some(first) => {
                    first_seen.insert(email.as_str(), first);
                    Some(FieldError::new(
                        format!("[{i}].email"),
                        format!("repeats [{first}].email"),
                    ))
                }
                None => None,
            },
        )
        .collect();
    if !repeats.is_empty() {
        return Err(ApiError::Conflict {
            detail: format!(
                "{} email address(es) are repeated within the batch",
                repeats.len()
            ),
            errors: repeats,
        });
    }

    let inserted = db
        .run(move |conn| {
            let created_at = now();
            let rows: Vec<NewCustomer> = clean
                .iter()
                .map(|(first_name, last_name, email)| NewCustomer {
                    first_name,
                    last_name,
                    email,
                    created_at,
                })
                .collect();
            NewCustomer::insert_all(conn, &rows)
        })
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "inserted": inserted })))
}
