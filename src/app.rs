//! The HTTP application: every route in one table, the middleware that counts each request's
//! SQL, and the extractor settings that keep every error in problem+json.
//!
//! [`routes`] is shared by the binary and the tests, so the tests exercise exactly what runs.

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PayloadError, QueryPayloadError};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpMessage, HttpResponse, HttpServer, Resource};

use crate::db::DbPool;
use crate::error::ApiError;
use crate::querylog::QueryLog;
use crate::routes::{categories, customers, orders, products, service};

/// The largest JSON body most routes accept.
pub const JSON_LIMIT_BYTES: usize = 256 * 1024;
/// The largest body of `POST /customers/bulk`: 10,000 customers fit with room to spare.
pub const BULK_JSON_LIMIT_BYTES: usize = 8 * 1024 * 1024;

/// The route table: the whole API at a glance.
///
/// Order matters where paths overlap: actix picks the first resource whose pattern matches, so
/// `/customers/bulk` must come before `/customers/{id}` (or a POST to it would be a 405 from
/// the `{id}` resource).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/customers/bulk", "POST")
            .app_data(json_config().limit(BULK_JSON_LIMIT_BYTES))
            .route(web::post().to(customers::bulk_create)),
    )
    .service(resource("/orders/bulk-status", "POST").route(web::post().to(orders::bulk_status)))
    .service(
        resource("/customers", "GET, POST")
            .route(web::get().to(customers::list))
            .route(web::post().to(customers::create)),
    )
    .service(
        resource("/customers/{id}", "GET, PATCH, DELETE")
            .route(web::get().to(customers::get))
            .route(web::patch().to(customers::update))
            .route(web::delete().to(customers::delete)),
    )
    .service(resource("/customers/{id}/orders", "GET").route(web::get().to(customers::orders)))
    .service(
        resource("/categories", "GET, POST")
            .route(web::get().to(categories::list))
            .route(web::post().to(categories::create)),
    )
    .service(
        resource("/categories/{id}", "GET, PATCH, DELETE")
            .route(web::get().to(categories::get))
            .route(web::patch().to(categories::update))
            .route(web::delete().to(categories::delete)),
    )
    .service(
        resource("/products", "GET, POST")
            .route(web::get().to(products::list))
            .route(web::post().to(products::create)),
    )
    .service(
        resource("/products/{id}", "GET, PATCH, DELETE")
            .route(web::get().to(products::get))
            .route(web::patch().to(products::update))
            .route(web::delete().to(products::delete)),
    )
    .service(
        resource("/orders", "GET, POST")
            .route(web::get().to(orders::list))
            .route(web::post().to(orders::create)),
    )
    .service(
        resource("/orders/{id}", "GET, PATCH, DELETE")
            .route(web::get().to(orders::get))
            .route(web::patch().to(orders::update))
            .route(web::delete().to(orders::delete)),
    )
    .service(resource("/health", "GET").route(web::get().to(service::health)));
}

/// A resource whose unmatched methods answer 405 in problem+json with an `Allow` header
/// (actix's own 405 has an empty body and no `Allow`).
fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move || async move {
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow })
    }))
}

/// Builds the server on an already bound listener (tests bind port 0) and a shared pool.
/// The returned [`Server`] runs until it is stopped or the process gets Ctrl-C / SIGTERM, when
/// it stops accepting, lets in-flight requests finish, and returns.
pub fn run(listener: TcpListener, pool: DbPool) -> std::io::Result<Server> {
    // Built once, outside the factory closure: every worker thread shares the same pool.
    let pool = web::Data::new(pool);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(pool.clone())
            .app_data(json_config())
            .app_data(query_config())
            .wrap(from_fn(count_queries))
            .configure(routes)
            .default_service(web::to(service::unknown_route))
    })
    .listen(listener)?
    .run();
    Ok(server)
}

/// Gives each request a fresh [`QueryLog`], and after the handler turns it into
/// `X-Query-Count` and `Server-Timing` headers and one access-log line.
async fn count_queries(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let log = QueryLog::default();
    req.extensions_mut().insert(log.clone());
    let (method, path) = (req.method().clone(), req.path().to_string());
    let started = std::time::Instant::now();

    let mut res = next.call(req).await?;

    let count = log.count();
    let db_ms = log.total_duration().as_secs_f64() * 1e3;
    let headers = res.headers_mut();
    headers.insert(
        HeaderName::from_static("x-query-count"),
        HeaderValue::from(count),
    );
    if let Ok(timing) =
        HeaderValue::from_str(&format!("db;dur={db_ms:.3};desc=\"{count} queries\""))
    {
        headers.insert(HeaderName::from_static("server-timing"), timing);
    }
    tracing::info!(
        target: "mercado::http",
        %method,
        path,
        status = res.status().as_u16(),
        queries = count,
        ms = format!("{:.2}", started.elapsed().as_secs_f64() * 1e3),
    );
    Ok(res)
}

/// JSON bodies: at most [`JSON_LIMIT_BYTES`], and every failure in problem+json.
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_LIMIT_BYTES)
        .error_handler(|err, _req| json_error(err).into())
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => {
            ApiError::PayloadTooLarge(format!("the body is larger than {limit} bytes"))
        }
        JsonPayloadError::Payload(PayloadError::Overflow) => {
            ApiError::PayloadTooLarge("the body is too large".to_string())
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
            "the body must be JSON, sent with Content-Type: application/json".to_string(),
        ),
        JsonPayloadError::Deserialize(err) => {
            ApiError::BadRequest(format!("the body could not be read: {err}"))
        }
        other => ApiError::BadRequest(format!("the body could not be read: {other}")),
    }
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let QueryPayloadError::Deserialize(err) = err else {
            return ApiError::BadRequest("the query string could not be read".to_string()).into();
        };
        ApiError::BadRequest(format!("the query string could not be read: {err}")).into()
    })
}
