//! `/reports/*`: the raw-SQL reports over HTTP. Each handler checks its parameters and runs one
//! statement from `src/reports/`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{Db, Items};
use crate::error::ApiError;
use crate::reports;

const DEFAULT_REPORT_LIMIT: i64 = 10;
const MAX_REPORT_LIMIT: i64 = 100;
/// The widest month range one request may ask for: a century of months.
const MAX_MONTHS: i64 = 1_200;

#[derive(Debug, Deserialize)]
pub struct LimitQuery {
    limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct MonthRange {
    from: Option<String>,
    to: Option<String>,
}

fn limit(query: &LimitQuery) -> Result<i64, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_REPORT_LIMIT);
    if !(1..=MAX_REPORT_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_REPORT_LIMIT}"
        )));
    }
    Ok(limit)
}

pub async fn orders_by_last_name(
    db: Db,
    query: web::Query<LimitQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(&query)?;
    let items = db
        .run(move |conn| Ok(reports::orders_by_last_name(conn, limit)?))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

pub async fn top_customers(
    db: Db,
    query: web::Query<LimitQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(&query)?;
    let items = db
        .run(move |conn| Ok(reports::top_customers(conn, limit)?))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// A month as `YYYY-MM`, returned as (year, month) for range arithmetic.
fn parse_month(field: &str, text: &str) -> Result<(i64, i64), ApiError> {
    let malformed =
        || ApiError::BadRequest(format!("{field} must be a month as YYYY-MM, like 2025-01"));
    let bytes = text.as_bytes();
    if bytes.len() != 7 || bytes[4] != b'-' {
        return Err(malformed());
    }
    let digits = |range: std::ops::Range<usize>| {
        bytes[range.clone()]
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| text[range].parse::<i64>().ok())
            .flatten()
    };
    match (digits(0..4), digits(5..7)) {
        (Some(year), Some(month)) if year >= 1 && (1..=12).contains(&month) => Ok((year, month)),
        _ => Err(malformed()),
    }
}

pub async fn monthly_revenue(
    db: Db,
    query: web::Query<MonthRange>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let from = query
        .from
        .as_deref()
        .map(|m| parse_month("from", m))
        .transpose()?;
    let to = query
        .to
        .as_deref()
        .map(|m| parse_month("to", m))
        .transpose()?;
    if let (Some(from), Some(to)) = (from, to) {
        let months = (to.0 * 12 + to.1) - (from.0 * 12 + from.1);
        if months < 0 {
            return Err(ApiError::unprocessable("to", "must not precede from"));
        }
        if months >= MAX_MONTHS {
            return Err(ApiError::unprocessable(
                "to",
                format!("the range may span at most {MAX_MONTHS} months"),
            ));
        }
    }
    // Only well-formed months get this far, and they are bound, never spliced into the SQL.
    let items = db
        .run(move |conn| {
            Ok(reports::monthly_revenue(
                conn,
                query.from.as_deref(),
                query.to.as_deref(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

pub async fn category_revenue(db: Db) -> Result<HttpResponse, ApiError> {
    let items = db.run(|conn| Ok(reports::category_revenue(conn)?)).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_must_be_yyyy_mm() {
        assert_eq!(parse_month("from", "2025-01").unwrap(), (2025, 1));
        assert_eq!(parse_month("from", "0001-12").unwrap(), (1, 12));
        for bad in [
            "2025-1",
            "2025-13",
            "2025-00",
            "25-01",
            "2025/01",
            "２０２５-01",
            "2025-01-01",
            "+025-01",
            "0000-01",
            "'; DROP",
        ] {
            assert!(parse_month("from", bad).is_err(), "{bad}");
        }
    }
}
