//! `/reports/*`: the raw-SQL reports over HTTP. Each handler receives its parameters parsed and
//! runs one statement from `src/reports/`.

use actix_web::HttpResponse;

use super::input::{MonthRange, Params, RawMonthRange, RawReportLimit, ReportLimit};
use super::{Db, Items};
use crate::error::ApiError;
use crate::openapi::Unprocessable;
use crate::reports::{self, CategoryRevenue, LastNameOrders, MonthRevenue, RankedCustomer};

/// The textbook's raw-SQL example: orders per last name, most first.
#[utoipa::path(get, path = "/reports/orders-by-last-name", tag = "reports", operation_id = "orders_by_last_name",
    params(RawReportLimit),
    responses((status = 200, description = "Last names by orders.", body = Items<LastNameOrders>)))]
pub async fn orders_by_last_name(
    db: Db,
    Params(ReportLimit(limit)): Params<ReportLimit>,
) -> Result<HttpResponse, ApiError> {
    let items = db
        .run(move |conn| reports::orders_by_last_name(conn, limit))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// Customers ranked by spend with `RANK()` (ties share a rank).
#[utoipa::path(get, path = "/reports/top-customers", tag = "reports", operation_id = "top_customers",
    params(RawReportLimit),
    responses((status = 200, description = "The ranking.", body = Items<RankedCustomer>)))]
pub async fn top_customers(
    db: Db,
    Params(ReportLimit(limit)): Params<ReportLimit>,
) -> Result<HttpResponse, ApiError> {
    let items = db
        .run(move |conn| reports::top_customers(conn, limit))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// Revenue per month with a running total; months without orders are zeros.
#[utoipa::path(get, path = "/reports/monthly-revenue", tag = "reports", operation_id = "monthly_revenue",
    params(RawMonthRange),
    responses((status = 200, description = "One row per month of the range.", body = Items<MonthRevenue>),
        (status = 422, response = Unprocessable)))]
pub async fn monthly_revenue(
    db: Db,
    Params(range): Params<MonthRange>,
) -> Result<HttpResponse, ApiError> {
    let items = db
        .run(move |conn| reports::monthly_revenue(conn, range.from, range.to))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// Revenue rolled up the category tree with a recursive CTE.
#[utoipa::path(get, path = "/reports/category-revenue", tag = "reports", operation_id = "category_revenue",
    responses((status = 200, description = "Every category, by path.", body = Items<CategoryRevenue>)))]
pub async fn category_revenue(db: Db) -> Result<HttpResponse, ApiError> {
    let items = db.run(reports::category_revenue).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}
