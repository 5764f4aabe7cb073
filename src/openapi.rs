//! The OpenAPI 3.1 description of the HTTP API, generated from the handlers' own types.
//!
//! Each handler carries a short `#[utoipa::path(...)]` naming its path, its parameters and the
//! statuses only it can answer. What every operation of a kind shares is added here once, by
//! [`CommonResponses`], so that no handler repeats it:
//! - every response carries `X-Request-Id`, `X-Query-Count` and `Server-Timing` (the
//!   middleware adds them to all of them);
//! - an operation with query parameters or a body can answer 400; one with a body, 413 and 415;
//! - an operation that reaches the database can answer 503 with `Retry-After`.
//!
//! `GET /openapi.json` serves the result, `mercado openapi` prints it, and `docs/openapi.json`
//! holds a copy that a test keeps in step with the code.

use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, PathItem, Ref, RefOr, Response, ResponseBuilder, Type,
};
use utoipa::{Modify, OpenApi, ToResponse};

use std::sync::LazyLock;

use crate::error::{FieldError, Problem};
use crate::routes::{categories, customers, dashboard, debug, orders, products, reports, service};

/// No row has that id (or the id is not a positive integer).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct NotFound(pub Problem<'static>);

/// The request clashes with what is stored: a unique value taken, a row still referenced, a
/// status move the order's current status forbids.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Conflict(pub Problem<'static>);

/// The body reads fine but breaks a rule; `errors[]` names each field and its rule.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Unprocessable(pub Problem<'static>);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Mercado",
        description = "The textbook's shop as a REST API on Diesel. Every response says how many SQL statements it cost (`X-Query-Count`).",
    ),
    paths(
        customers::bulk_create, customers::list, customers::create, customers::get,
        customers::update, customers::delete, customers::orders,
        categories::list, categories::create, categories::get, categories::update,
        categories::delete,
        products::list, products::create, products::get, products::update, products::delete,
        orders::bulk_status, orders::list, orders::create, orders::get, orders::update,
        orders::delete,
        dashboard::show,
        reports::orders_by_last_name, reports::top_customers, reports::monthly_revenue,
        reports::category_revenue,
        service::health, service::openapi, service::metrics, debug::queries, debug::query, debug::explain,
    ),
    components(schemas(Problem, FieldError), responses(NotFound, Conflict, Unprocessable)),
    tags(
        (name = "customers", description = "CRUD through Diesel's query builder; a bulk insert that is all or nothing."),
        (name = "categories", description = "A tree in one table; a move that would make a loop is refused."),
        (name = "products", description = "The catalogue: a unique sku, a category, a price."),
        (name = "orders", description = "Placing an order in one transaction; the status machine; a set-based bulk UPDATE."),
        (name = "dashboard", description = "The N+1 lab: one page computed four ways; compare their X-Query-Count."),
        (name = "reports", description = "Raw SQL through sql_query: window functions, a recursive CTE."),
        (name = "service", description = "Health, and this description."),
        (name = "debug", description = "The last requests and their SQL (MERCADO_DEBUG_ENDPOINTS)."),
    ),
    modifiers(&CommonResponses),
)]
pub struct ApiDoc;

/// The spec as pretty JSON, as `/openapi.json` serves it and `docs/openapi.json` holds it;
/// built once, on first use.
pub fn json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        // Serializing plain structs of strings and maps cannot fail; if it ever did, the
        // message is still valid JSON and the drift test would show it.
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|err| serde_json::json!({ "error": err.to_string() }).to_string())
    });
    &JSON
}

/// Adds what every operation of a kind shares; see the module docs.
pub struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.headers.extend([
            (
                "X-Request-Id".to_string(),
                header(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1)),
                    "This request's id, unique per request; the access log and \
                     `/_debug/queries/{id}` use the same one.",
                ),
            ),
            (
                "X-Query-Count".to_string(),
                header(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                    "How many SQL statements the request executed (transaction control and \
                     connection set-up not counted).",
                ),
            ),
            (
                "Server-Timing".to_string(),
                header(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(r#"^db;dur=[0-9]+\.[0-9]{3};desc="[0-9]+ queries"$"#)),
                    "Time spent in the database, and the statement count again.",
                ),
            ),
            (
                "Retry-After".to_string(),
                header(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                    "Seconds to wait before trying again.",
                ),
            ),
        ]);
        components.responses.extend([
            (
                "BadRequest".to_string(),
                problem("A query parameter or the body could not be read (not JSON, a wrong type, an unknown field, out of range)."),
            ),
            ("PayloadTooLarge".to_string(), problem("The body is larger than the limit.")),
            (
                "UnsupportedMediaType".to_string(),
                problem("The body is not sent as `application/json`."),
            ),
            ("Unavailable".to_string(), {
                let mut response = problem_response(
                    "The database is unreachable, or no pooled connection came free in time \
                     (`MERCADO_POOL_TIMEOUT_MS`).",
                );
                response
                    .headers
                    .insert("Retry-After".into(), header_ref("Retry-After"));
                RefOr::T(response)
            }),
        ]);
        for response in components.responses.values_mut() {
            if let RefOr::T(response) = response {
                add_count_headers(response);
            }
        }

        for (path, item) in openapi.paths.paths.iter_mut() {
            let touches_db = !(path == "/openapi.json"
                || path == "/metrics"
                || path.starts_with("/_debug/queries"));
            for operation in operations(item) {
                // A bad path id is a 404, already listed; only a query string can be a 400.
                let has_query = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
                let has_body = operation.request_body.is_some();
                let responses = &mut operation.responses.responses;
                if has_query || has_body {
                    responses.insert("400".into(), response_ref("BadRequest"));
                }
                if has_body {
                    responses.insert("413".into(), response_ref("PayloadTooLarge"));
                    responses.insert("415".into(), response_ref("UnsupportedMediaType"));
                }
                if touches_db {
                    responses.insert("503".into(), response_ref("Unavailable"));
                }
                for response in responses.values_mut() {
                    if let RefOr::T(response) = response {
                        add_count_headers(response);
                    }
                }
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.post.as_mut(),
        item.patch.as_mut(),
        item.put.as_mut(),
        item.delete.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn problem(description: &str) -> RefOr<Response> {
    RefOr::T(problem_response(description))
}

fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// Every response carries its id and the two counting headers: the middleware adds them to
/// all.
fn add_count_headers(response: &mut Response) {
    for name in ["X-Request-Id", "X-Query-Count", "Server-Timing"] {
        response.headers.insert(name.into(), header_ref(name));
    }
}

fn header(schema: ObjectBuilder, description: &str) -> RefOr<Header> {
    RefOr::T(
        HeaderBuilder::new()
            .schema(Some(schema))
            .description(Some(description))
            .build(),
    )
}

fn header_ref(name: &str) -> RefOr<Header> {
    RefOr::Ref(Ref::new(format!("#/components/headers/{name}")))
}

fn response_ref(name: &str) -> RefOr<Response> {
    RefOr::Ref(Ref::from_response_name(name))
}
