//! `/dashboard/{strategy}`: the N+1 lab over HTTP. The four strategies live in
//! `src/dashboard.rs`; this file only runs the chosen one on the requested page.

use actix_web::HttpResponse;

use super::input::{DashboardQuery, Params, PathStrategy};
use super::Db;
use crate::error::ApiError;
use crate::models::Paged;

pub async fn show(
    db: Db,
    PathStrategy(strategy): PathStrategy,
    Params(DashboardQuery { page }): Params<DashboardQuery>,
) -> Result<HttpResponse, ApiError> {
    let rows = db.run(move |conn| strategy.run(conn, page)).await?;
    Ok(HttpResponse::Ok().json(Paged::new(rows, page, |r| r.customer_id)))
}
