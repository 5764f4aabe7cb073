//! `/health`, and the problem+json answers for requests that match no handler.

use actix_web::HttpResponse;
use diesel::connection::SimpleConnection;
use serde::Serialize;

use super::Db;
use crate::error::ApiError;

#[derive(Serialize)]
struct Health {
    status: &'static str,
    backend: &'static str,
}

/// 200 with the backend's name when the database answers a trivial statement; 503 otherwise.
pub async fn health(db: Db) -> Result<HttpResponse, ApiError> {
    let backend = db
        .run(|conn| conn.batch_execute("SELECT 1").map(|()| conn.backend()))
        .await?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        backend: backend.name(),
    }))
}

/// The app's default service: no route matches the path.
pub async fn unknown_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such route".to_string()))
}
