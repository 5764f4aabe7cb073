//! `/reports/*`: the raw-SQL reports over HTTP. Each handler receives its parameters parsed and
//! runs one statement from `src/reports/`.

use actix_web::HttpResponse;

use super::input::{MonthRange, Params, ReportLimit};
use super::{Db, Items};
use crate::error::ApiError;
use crate::reports;

pub async fn orders_by_last_name(
    db: Db,
    Params(ReportLimit(limit)): Params<ReportLimit>,
) -> Result<HttpResponse, ApiError> {
    let items = db
        .run(move |conn| reports::orders_by_last_name(conn, limit))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

pub async fn top_customers(
    db: Db,
    Params(ReportLimit(limit)): Params<ReportLimit>,
) -> Result<HttpResponse, ApiError> {
    let items = db
        .run(move |conn| reports::top_customers(conn, limit))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

pub async fn monthly_revenue(
    db: Db,
    Params(range): Params<MonthRange>,
) -> Result<HttpResponse, ApiError> {
    let items = db
        .run(move |conn| reports::monthly_revenue(conn, range.from, range.to))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

pub async fn category_revenue(db: Db) -> Result<HttpResponse, ApiError> {
    let items = db.run(reports::category_revenue).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}
