//! `/dashboard/{strategy}`: the N+1 lab over HTTP. The four strategies live in
//! `src/dashboard.rs`; this file only runs the chosen one on the requested page.

use actix_web::HttpResponse;

use super::input::{DashboardQuery, Params, PathStrategy, RawPage};
use super::Db;
use crate::dashboard::DashboardRow;
use crate::error::ApiError;
use crate::models::Paged;
use crate::openapi::NotFound;

/// One page of the customer dashboard, computed by the chosen strategy. Every strategy returns
/// the same body; `X-Query-Count` shows what each costs: `n-plus-one` 1 + N + O statements (the
/// bug, on purpose), `batched` 3 (`belonging_to` + `grouped_by`), `joined` 1 (`LEFT JOIN`
/// folded in Rust), `aggregate` 1 (`GROUP BY` in SQL).
#[utoipa::path(get, path = "/dashboard/{strategy}", tag = "dashboard", operation_id = "dashboard",
    params(PathStrategy, RawPage),
    responses(
        (status = 200, description = "A page of customers with their order count and spend.", body = Paged<DashboardRow>,
            headers(("X-N-Plus-One" = String, description = "`<count>; <SQL>` when one statement ran `MERCADO_N_PLUS_ONE_THRESHOLD` times or more."))),
        (status = 404, response = NotFound)))]
pub async fn show(
    db: Db,
    PathStrategy(strategy): PathStrategy,
    Params(DashboardQuery { page }): Params<DashboardQuery>,
) -> Result<HttpResponse, ApiError> {
    let rows = db.run(move |conn| strategy.run(conn, page)).await?;
    Ok(HttpResponse::Ok().json(Paged::new(rows, page, |r| r.customer_id)))
}
