//! `/health`, and the problem+json answers for requests that match no handler.

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde::Serialize;

use super::Db;
use crate::error::ApiError;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
    /// `sqlite` or `postgresql`.
    #[schema(pattern = "^(sqlite|postgresql)$")]
    backend: &'static str,
}

/// 200 with the backend's name when the database answers a trivial statement; 503 otherwise.
#[utoipa::path(get, path = "/health", tag = "service", operation_id = "health",
    responses((status = 200, description = "The database answers.", body = Health)))]
pub async fn health(db: Db) -> Result<HttpResponse, ApiError> {
    let backend = db
        .run(|conn| conn.batch_execute("SELECT 1").map(|()| conn.backend()))
        .await?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        backend: backend.name(),
    }))
}

/// This API's OpenAPI 3.1 description, generated from the handlers (`MERCADO_API_DOCS`).
#[utoipa::path(get, path = "/openapi.json", tag = "service", operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI document.", body = Object)))]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(crate::openapi::json())
}

/// The service's Prometheus metrics: requests, latency and statements per request by route,
/// N+1 detections, the pool (`MERCADO_METRICS`).
#[utoipa::path(get, path = "/metrics", tag = "service", operation_id = "metrics",
    responses((status = 200, description = "Prometheus's text format, version 0.0.4.",
        content_type = "text/plain", body = String)))]
pub async fn metrics(
    metrics: web::Data<crate::metrics::Metrics>,
    pool: web::Data<crate::db::DbPool>,
) -> HttpResponse {
    let state = pool.state();
    HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(metrics.encode((state.connections, state.idle_connections)))
}

/// The app's default service: no route matches the path.
pub async fn unknown_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such route".to_string()))
}
