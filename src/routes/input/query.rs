//! Query strings: the paged lists, the dashboard and the reports. A parameter that does not
//! parse or is out of range is a 400, like any other unreadable input.

use serde::Deserialize;
use utoipa::IntoParams;

use super::Parse;
use crate::error::ApiError;
use crate::models::{OrderFilter, OrderStatus, Page};
use crate::reports::Month;

/// The default `?limit=` of every list and of the dashboard.
pub const DEFAULT_LIMIT: i64 = 50;
/// The largest `?limit=` of the CRUD lists.
pub const MAX_LIMIT: i64 = 500;
/// The dashboard allows larger pages than the CRUD lists: big pages are where the strategies
/// part ways.
pub const MAX_DASHBOARD_LIMIT: i64 = 5_000;
/// The default and largest `?limit=` of the reports.
pub const DEFAULT_REPORT_LIMIT: i64 = 10;
pub const MAX_REPORT_LIMIT: i64 = 100;
/// The widest month range one request may ask for: a century of months.
pub const MAX_MONTHS: i64 = 1_200;

/// `?limit=` and `?after=`; out of range is a 400 like any other unreadable parameter.
fn page(limit: Option<i64>, after: Option<i64>, max: i64) -> Result<Page, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {max}"
        )));
    }
    Page::new(limit, after.unwrap_or(0))
        .ok_or_else(|| ApiError::BadRequest("after must not be negative".to_string()))
}

/// The raw parameters every paged list shares.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawPage {
    /// Customers per page (default 50).
    #[param(minimum = 1, maximum = 5000)]
    limit: Option<i64>,
    /// Start after this customer id (default 0).
    #[param(minimum = 0)]
    after: Option<i64>,
}

/// `GET /dashboard/{strategy}?limit&after`.
#[derive(Debug, Clone, Copy)]
pub struct DashboardQuery {
    pub page: Page,
}

impl Parse for DashboardQuery {
    type Raw = RawPage;
    fn parse(raw: RawPage) -> Result<DashboardQuery, ApiError> {
        let page = page(raw.limit, raw.after, MAX_DASHBOARD_LIMIT)?;
        Ok(DashboardQuery { page })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawCustomerQuery {
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Start after this id (default 0): the previous page's `next_after`.
    #[param(minimum = 0)]
    after: Option<i64>,
    /// Only the customer with this address, whatever its case.
    email: Option<String>,
}

/// `GET /customers?limit&after&email`: `email` lower-cased (stored emails are), so the filter
/// is case-insensitive. It is not required to be well-formed: a malformed address simply
/// matches nobody.
#[derive(Debug, Clone)]
pub struct CustomerQuery {
    pub page: Page,
    pub email: Option<String>,
}

impl Parse for CustomerQuery {
    type Raw = RawCustomerQuery;
    fn parse(raw: RawCustomerQuery) -> Result<CustomerQuery, ApiError> {
        let email = raw.email.map(|e| e.trim().to_lowercase());
        if email
            .as_deref()
            .is_some_and(|e| e.chars().any(char::is_control))
        {
            return Err(ApiError::BadRequest(
                "email must not contain control characters".to_string(),
            ));
        }
        Ok(CustomerQuery {
            page: page(raw.limit, raw.after, MAX_LIMIT)?,
            email,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawProductQuery {
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Start after this id (default 0): the previous page's `next_after`.
    #[param(minimum = 0)]
    after: Option<i64>,
    /// Only the products of this category.
    category_id: Option<i64>,
}

/// `GET /products?limit&after&category_id`.
#[derive(Debug, Clone, Copy)]
pub struct ProductQuery {
    pub page: Page,
    pub category_id: Option<i64>,
}

impl Parse for ProductQuery {
    type Raw = RawProductQuery;
    fn parse(raw: RawProductQuery) -> Result<ProductQuery, ApiError> {
        Ok(ProductQuery {
            page: page(raw.limit, raw.after, MAX_LIMIT)?,
            category_id: raw.category_id,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawOrderQuery {
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Start after this id (default 0): the previous page's `next_after`.
    #[param(minimum = 0)]
    after: Option<i64>,
    /// Only this customer's orders.
    customer_id: Option<i64>,
    /// Only orders in this status.
    #[param(value_type = Option<OrderStatus>)]
    status: Option<String>,
}

/// `GET /orders?limit&after&customer_id&status`; an unknown status is a 400.
#[derive(Debug, Clone, Copy)]
pub struct OrderQuery {
    pub page: Page,
    pub filter: OrderFilter,
}

impl Parse for OrderQuery {
    type Raw = RawOrderQuery;
    fn parse(raw: RawOrderQuery) -> Result<OrderQuery, ApiError> {
        let status = raw
            .status
            .map(|text| text.parse::<OrderStatus>())
            .transpose()
            .map_err(|err| ApiError::BadRequest(format!("status: {err}")))?;
        Ok(OrderQuery {
            page: page(raw.limit, raw.after, MAX_LIMIT)?,
            filter: OrderFilter {
                customer_id: raw.customer_id,
                status,
            },
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawReportLimit {
    /// Rows to return (default 10).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// `?limit=` of the ranked reports.
#[derive(Debug, Clone, Copy)]
pub struct ReportLimit(pub i64);

impl Parse for ReportLimit {
    type Raw = RawReportLimit;
    fn parse(raw: RawReportLimit) -> Result<ReportLimit, ApiError> {
        let limit = raw.limit.unwrap_or(DEFAULT_REPORT_LIMIT);
        if !(1..=MAX_REPORT_LIMIT).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "limit must be between 1 and {MAX_REPORT_LIMIT}"
            )));
        }
        Ok(ReportLimit(limit))
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawMonthRange {
    /// The first month, `YYYY-MM` (default: the first month with a non-cancelled order).
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$", example = "2025-01")]
    from: Option<String>,
    /// The last month, `YYYY-MM`, not before `from` (default: the last month with a
    /// non-cancelled order).
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$", example = "2025-12")]
    to: Option<String>,
}

/// `?from=YYYY-MM&to=YYYY-MM` of the monthly report: a malformed month is a 400 (it cannot be
/// read); a `to` before `from`, or a range wider than [`MAX_MONTHS`], is a 422 (it reads fine
/// and breaks a rule).
#[derive(Debug, Clone, Copy)]
pub struct MonthRange {
    pub from: Option<Month>,
    pub to: Option<Month>,
}

impl Parse for MonthRange {
    type Raw = RawMonthRange;
    fn parse(raw: RawMonthRange) -> Result<MonthRange, ApiError> {
        let month = |field: &str, text: Option<String>| {
            text.map(|text| text.parse::<Month>())
                .transpose()
                .map_err(|err| ApiError::BadRequest(format!("{field}: {err}")))
        };
        let range = MonthRange {
            from: month("from", raw.from)?,
            to: month("to", raw.to)?,
        };
        if let (Some(from), Some(to)) = (range.from, range.to) {
            let months = to.ordinal() - from.ordinal();
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
        Ok(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_stay_within_their_limits() {
        assert_eq!(
            page(None, None, MAX_LIMIT).unwrap(),
            Page::first(DEFAULT_LIMIT)
        );
        assert!(page(Some(0), None, MAX_LIMIT).is_err());
        assert!(page(Some(MAX_LIMIT + 1), None, MAX_LIMIT).is_err());
        assert!(page(Some(MAX_LIMIT + 1), None, MAX_DASHBOARD_LIMIT).is_ok());
        assert!(page(None, Some(-1), MAX_LIMIT).is_err());
    }

    #[test]
    fn a_month_range_must_run_forwards() {
        let range = |from: &str, to: &str| {
            MonthRange::parse(RawMonthRange {
                from: Some(from.to_string()),
                to: Some(to.to_string()),
            })
        };
        assert!(range("2025-01", "2025-01").is_ok());
        assert!(matches!(
            range("2025-02", "2025-01"),
            Err(ApiError::Unprocessable(_))
        ));
        assert!(matches!(
            range("2025-13", "2025-01"),
            Err(ApiError::BadRequest(_))
        ));
    }
}
