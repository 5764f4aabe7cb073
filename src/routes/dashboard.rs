//! `/dashboard/{strategy}`: the N+1 lab over HTTP. The four strategies live in
//! `src/dashboard.rs`; this file only picks one and pages it.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{page, Db};
use crate::dashboard::Strategy;
use crate::error::ApiError;
use crate::models::Paged;

/// The dashboard allows larger pages than the CRUD lists: big pages are where the strategies
/// part ways.
pub const MAX_DASHBOARD_LIMIT: i64 = 5_000;

#[derive(Debug, Deserialize)]
pub struct DashboardQuery {
    limit: Option<i64>,
    after: Option<i64>,
}

pub async fn show(
    db: Db,
    req: HttpRequest,
    query: web::Query<DashboardQuery>,
) -> Result<HttpResponse, ApiError> {
    let name = req.match_info().get("strategy").unwrap_or("");
    let strategy = Strategy::parse(name).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no dashboard strategy {name:?}: use n-plus-one, batched, joined or aggregate"
        ))
    })?;
    let page = page(query.limit, query.after, MAX_DASHBOARD_LIMIT)?;
    let rows = db.run(move |conn| Ok(strategy.run(conn, page)?)).await?;
    Ok(HttpResponse::Ok().json(Paged::new(rows, page, |r| r.customer_id)))
}
