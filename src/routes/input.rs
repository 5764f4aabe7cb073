//! Every piece of request input, parsed once at the edge into a type that cannot hold an
//! invalid value: "parse, don't validate".
//!
//! A handler names what it needs in its signature (`PathId`, `Params<CustomerQuery>`,
//! `Body<CustomerForm>`), and by the time it runs the value is known to be good: a page within
//! its limit, an email that is well-formed and lower-cased, an order status that is one of the
//! five. Nothing downstream checks again.
//!
//! Two kinds of failure, as the contract draws them:
//! - the input cannot be read at all (not JSON, a wrong type, an unknown field, a query
//!   parameter that does not parse or is out of range): 400, from the extractor;
//! - a body that reads fine but breaks a rule (an empty name, a bad email, a quantity of
//!   zero): 422, listing *every* broken rule with its field, so a client can fix them in one go.
//!   The schema's CHECK constraints repeat the important rules as a backstop, but a client
//!   deserves a message naming its field.

use std::collections::HashSet;
use std::future::{ready, Future, Ready};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PayloadError, QueryPayloadError};
use actix_web::{web, FromRequest, HttpRequest};
use chrono::NaiveDateTime;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::dashboard::Strategy;
use crate::error::{ApiError, FieldError};
use crate::models::{
    CategoryChanges, CustomerChanges, NewOrderLine, OrderFilter, OrderStatus, Page, ProductChanges,
};
use crate::reports::Month;

// ---------------------------------------------------------------------------------------------
// The extractors
// ---------------------------------------------------------------------------------------------

/// A type that request input is parsed into: serde reads the request's shape into `Raw`
/// (plain strings and numbers), then [`Parse::parse`] applies the rules.
pub trait Parse: Sized {
    type Raw: DeserializeOwned;

    /// The rules. A query parameter that breaks one is a 400; a body that breaks one is a 422
    /// listing every broken rule (see [`Rules`]).
    fn parse(raw: Self::Raw) -> Result<Self, ApiError>;
}

/// A JSON body parsed into `T`. Reading it is actix's `web::Json` (so the `JsonConfig` limits
/// and the errors of [`json_config`] apply); the rules are `T`'s [`Parse`].
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: Parse + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Body<T>, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<T::Raw>::from_request(req, payload);
        Box::pin(async move {
            let raw = json.await?.into_inner();
            Ok(Body(T::parse(raw)?))
        })
    }
}

/// The query string parsed into `T`.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T: Parse> FromRequest for Params<T> {
    type Error = ApiError;
    type Future = Ready<Result<Params<T>, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let raw = web::Query::<T::Raw>::from_query(req.query_string()).map_err(query_error);
        ready(raw.and_then(|raw| T::parse(raw.into_inner())).map(Params))
    }
}

/// The `{id}` of a path. Anything but a positive 64-bit integer is a 404: no such row can
/// exist, so "not found" is the honest answer (and the contract's).
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub i64);

impl FromRequest for PathId {
    type Error = ApiError;
    type Future = Ready<Result<PathId, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let raw = req.match_info().get("id").unwrap_or("");
        ready(match raw.parse::<i64>() {
            Ok(id) if id > 0 => Ok(PathId(id)),
            _ => Err(ApiError::NotFound(format!(
                "{raw:?} is not an id: ids are positive integers"
            ))),
        })
    }
}

/// The `{strategy}` of `/dashboard/{strategy}`; an unknown name is a 404 like an unknown route.
#[derive(Debug, Clone, Copy)]
pub struct PathStrategy(pub Strategy);

impl FromRequest for PathStrategy {
    type Error = ApiError;
    type Future = Ready<Result<PathStrategy, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let name = req.match_info().get("strategy").unwrap_or("");
        ready(Strategy::parse(name).map(PathStrategy).ok_or_else(|| {
            ApiError::NotFound(format!(
                "no dashboard strategy {name:?}: use n-plus-one, batched, joined or aggregate"
            ))
        }))
    }
}

/// The largest JSON body most routes accept.
pub const JSON_LIMIT_BYTES: usize = 256 * 1024;
/// The largest body of `POST /customers/bulk`: [`MAX_BULK`] customers fit with room to spare.
pub const BULK_JSON_LIMIT_BYTES: usize = 8 * 1024 * 1024;

/// JSON bodies: at most `limit` bytes, and every failure to read one in problem+json (actix's
/// own answers are plain text).
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
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

fn query_error(err: QueryPayloadError) -> ApiError {
    match err {
        QueryPayloadError::Deserialize(err) => {
            ApiError::BadRequest(format!("the query string could not be read: {err}"))
        }
        _ => ApiError::BadRequest("the query string could not be read".to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------------------------

/// Collects the broken rules of one body; [`Rules::finish`] turns them into one 422.
#[derive(Debug, Default)]
pub struct Rules {
    errors: Vec<FieldError>,
}

impl Rules {
    pub fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// The parsed value, or `None` after noting the failure under `field`.
    pub fn check<T, E: ToString>(
        &mut self,
        field: impl Into<String>,
        value: Result<T, E>,
    ) -> Option<T> {
        value.map_err(|err| self.fail(field, err.to_string())).ok()
    }

    /// A 422 carrying every broken rule, or, when none broke, the value `build` makes. Each
    /// [`Rules::check`] that passed returned `Some`, so `build` can take every part with `?`.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, ApiError> {
        if self.errors.is_empty() {
            if let Some(value) = build() {
                return Ok(value);
            }
        }
        Err(ApiError::Unprocessable(self.errors))
    }
}

/// Name-like text: trimmed, then 1..=`MAX` characters (not bytes), no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    pub fn parse(value: &str) -> Result<Text<MAX>, String> {
        let trimmed = value.trim();
        let chars = trimmed.chars().count();
        if chars == 0 {
            Err("must not be empty".to_string())
        } else if chars > MAX {
            Err(format!("must be at most {MAX} characters"))
        } else if trimmed.chars().any(char::is_control) {
            Err("must not contain control characters".to_string())
        } else {
            Ok(Text(trimmed.to_string()))
        }
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<const MAX: usize> std::ops::Deref for Text<MAX> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// A customer's first or last name, a category's name.
pub type Name = Text<100>;
/// A product's name.
pub type ProductName = Text<200>;
/// A product's stock-keeping unit.
pub type Sku = Text<64>;

/// An email address: one `@`, a non-empty local part, a domain with a dot (not at either end),
/// at most 254 characters, no spaces. Trimmed and lower-cased, as it is stored: lower-casing on
/// the way in is what makes the plain unique index case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(value: &str) -> Result<Email, &'static str> {
        let email = value.trim().to_lowercase();
        let well_formed = match email.split_once('@') {
            Some((local, domain)) => {
                email.chars().count() <= 254
                    && !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if well_formed {
            Ok(Email(email))
        } else {
            Err("must be a valid address")
        }
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::ops::Deref for Email {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// A reference to another row in a body: ids are positive.
fn id(value: i64) -> Result<i64, &'static str> {
    if value >= 1 {
        Ok(value)
    } else {
        Err("must be a positive id")
    }
}

/// A whole number within `min..=max`.
fn in_range(value: i64, min: i64, max: i64) -> Result<i64, String> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be between {min} and {max}"))
    }
}

/// For PATCH bodies: a field that is absent stays `None` (serde's `default`), a field that is
/// present becomes `Some(value)`. With `T = Option<i64>`, `"parent_id": null` is thus
/// `Some(None)` ("set to NULL"), distinct from leaving `parent_id` out. With `T = String`,
/// `"name": null` is refused as a wrong type (400), not silently ignored.
fn present<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    T::deserialize(deserializer).map(Some)
}

// ---------------------------------------------------------------------------------------------
// Query strings
// ---------------------------------------------------------------------------------------------

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
#[derive(Debug, Deserialize)]
pub struct RawPage {
    limit: Option<i64>,
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

#[derive(Debug, Deserialize)]
pub struct RawCustomerQuery {
    limit: Option<i64>,
    after: Option<i64>,
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

#[derive(Debug, Deserialize)]
pub struct RawProductQuery {
    limit: Option<i64>,
    after: Option<i64>,
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

#[derive(Debug, Deserialize)]
pub struct RawOrderQuery {
    limit: Option<i64>,
    after: Option<i64>,
    customer_id: Option<i64>,
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

#[derive(Debug, Deserialize)]
pub struct RawReportLimit {
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

#[derive(Debug, Deserialize)]
pub struct RawMonthRange {
    from: Option<String>,
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

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------
//
// Every body refuses unknown fields (`deny_unknown_fields`, a 400) rather than ignoring them:
// a client that misspells a field should hear about it.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCustomer {
    first_name: String,
    last_name: String,
    email: String,
}

/// The body of `POST /customers`, and one element of `POST /customers/bulk`.
#[derive(Debug, Clone)]
pub struct CustomerForm {
    pub first_name: Name,
    pub last_name: Name,
    pub email: Email,
}

impl CustomerForm {
    /// Checks one customer, naming its fields `{prefix}first_name` and so on.
    fn check(raw: &RawCustomer, prefix: &str, rules: &mut Rules) -> Option<CustomerForm> {
        let first_name = rules.check(format!("{prefix}first_name"), Name::parse(&raw.first_name));
        let last_name = rules.check(format!("{prefix}last_name"), Name::parse(&raw.last_name));
        let email = rules.check(format!("{prefix}email"), Email::parse(&raw.email));
        Some(CustomerForm {
            first_name: first_name?,
            last_name: last_name?,
            email: email?,
        })
    }
}

impl Parse for CustomerForm {
    type Raw = RawCustomer;
    fn parse(raw: RawCustomer) -> Result<CustomerForm, ApiError> {
        let mut rules = Rules::default();
        let form = CustomerForm::check(&raw, "", &mut rules);
        rules.finish(|| form)
    }
}

/// The most customers one `POST /customers/bulk` may carry.
pub const MAX_BULK: usize = 10_000;

/// The body of `POST /customers/bulk`: 1..=[`MAX_BULK`] valid customers, each broken rule
/// named by position (`[17].email`).
#[derive(Debug, Clone)]
pub struct CustomerBatch(pub Vec<CustomerForm>);

impl Parse for CustomerBatch {
    type Raw = Vec<RawCustomer>;
    fn parse(raw: Vec<RawCustomer>) -> Result<CustomerBatch, ApiError> {
        if raw.is_empty() || raw.len() > MAX_BULK {
            return Err(ApiError::unprocessable(
                "body",
                format!("must hold between 1 and {MAX_BULK} customers"),
            ));
        }
        let mut rules = Rules::default();
        let forms: Vec<Option<CustomerForm>> = raw
            .iter()
            .enumerate()
            .map(|(i, customer)| CustomerForm::check(customer, &format!("[{i}]."), &mut rules))
            .collect();
        rules.finish(|| {
            forms
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(CustomerBatch)
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCustomerPatch {
    #[serde(default, deserialize_with = "present")]
    first_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    last_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    email: Option<String>,
}

/// `PATCH /customers/{id}`: any subset of the fields, each under the rules of `POST`.
impl Parse for CustomerChanges {
    type Raw = RawCustomerPatch;
    fn parse(raw: RawCustomerPatch) -> Result<CustomerChanges, ApiError> {
        let mut rules = Rules::default();
        let first_name = raw
            .first_name
            .and_then(|v| rules.check("first_name", Name::parse(&v)));
        let last_name = raw
            .last_name
            .and_then(|v| rules.check("last_name", Name::parse(&v)));
        let email = raw
            .email
            .and_then(|v| rules.check("email", Email::parse(&v)));
        rules.finish(|| {
            Some(CustomerChanges {
                first_name: first_name.map(Text::into_string),
                last_name: last_name.map(Text::into_string),
                email: email.map(Email::into_string),
            })
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCategory {
    name: String,
    #[serde(default)]
    parent_id: Option<i64>,
}

/// The body of `POST /categories`.
#[derive(Debug, Clone)]
pub struct CategoryForm {
    pub name: Name,
    pub parent_id: Option<i64>,
}

impl Parse for CategoryForm {
    type Raw = RawCategory;
    fn parse(raw: RawCategory) -> Result<CategoryForm, ApiError> {
        let mut rules = Rules::default();
        let name = rules.check("name", Name::parse(&raw.name));
        // Outer `None`: the given parent broke a rule. `Some(None)`: no parent, a root.
        let parent_id = match raw.parent_id {
            Some(parent_id) => rules.check("parent_id", id(parent_id)).map(Some),
            None => Some(None),
        };
        rules.finish(|| {
            Some(CategoryForm {
                name: name?,
                parent_id: parent_id?,
            })
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCategoryPatch {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    /// Absent: unchanged. `null`: becomes a root. A number: moves under that category.
    #[serde(default, deserialize_with = "present")]
    parent_id: Option<Option<i64>>,
}

/// `PATCH /categories/{id}`.
impl Parse for CategoryChanges {
    type Raw = RawCategoryPatch;
    fn parse(raw: RawCategoryPatch) -> Result<CategoryChanges, ApiError> {
        let mut rules = Rules::default();
        let name = raw.name.and_then(|v| rules.check("name", Name::parse(&v)));
        if let Some(Some(parent_id)) = raw.parent_id {
            rules.check("parent_id", id(parent_id));
        }
        rules.finish(|| {
            Some(CategoryChanges {
                name: name.map(Text::into_string),
                parent_id: raw.parent_id,
            })
        })
    }
}

/// The contract's price range: 0 to one million in currency units.
pub const MAX_PRICE_CENTS: i64 = 100_000_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProduct {
    sku: String,
    name: String,
    category_id: i64,
    unit_price_cents: i64,
}

/// The body of `POST /products`.
#[derive(Debug, Clone)]
pub struct ProductForm {
    pub sku: Sku,
    pub name: ProductName,
    pub category_id: i64,
    pub unit_price_cents: i64,
}

impl Parse for ProductForm {
    type Raw = RawProduct;
    fn parse(raw: RawProduct) -> Result<ProductForm, ApiError> {
        let mut rules = Rules::default();
        let sku = rules.check("sku", Sku::parse(&raw.sku));
        let name = rules.check("name", ProductName::parse(&raw.name));
        let category_id = rules.check("category_id", id(raw.category_id));
        let unit_price_cents = rules.check(
            "unit_price_cents",
            in_range(raw.unit_price_cents, 0, MAX_PRICE_CENTS),
        );
        rules.finish(|| {
            Some(ProductForm {
                sku: sku?,
                name: name?,
                category_id: category_id?,
                unit_price_cents: unit_price_cents?,
            })
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProductPatch {
    #[serde(default, deserialize_with = "present")]
    sku: Option<String>,
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    category_id: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    unit_price_cents: Option<i64>,
}

/// `PATCH /products/{id}`.
impl Parse for ProductChanges {
    type Raw = RawProductPatch;
    fn parse(raw: RawProductPatch) -> Result<ProductChanges, ApiError> {
        let mut rules = Rules::default();
        let sku = raw.sku.and_then(|v| rules.check("sku", Sku::parse(&v)));
        let name = raw
            .name
            .and_then(|v| rules.check("name", ProductName::parse(&v)));
        let category_id = raw
            .category_id
            .and_then(|v| rules.check("category_id", id(v)));
        let unit_price_cents = raw
            .unit_price_cents
            .and_then(|v| rules.check("unit_price_cents", in_range(v, 0, MAX_PRICE_CENTS)));
        rules.finish(|| {
            Some(ProductChanges {
                sku: sku.map(Text::into_string),
                name: name.map(Text::into_string),
                category_id,
                unit_price_cents,
            })
        })
    }
}

/// Most lines one order may have. Not in the contract: it keeps a single order's statements
/// well inside every backend's bind-parameter limit; real carts are far smaller.
pub const MAX_ORDER_LINES: usize = 1000;
/// The contract's range for one line's quantity is 1 to this (the schema's CHECK says the same).
pub const MAX_QUANTITY: i32 = 1000;

/// One line's quantity, which fits the column's `i32` once it is in range.
fn quantity(value: i64) -> Result<i32, String> {
    match i32::try_from(value) {
        Ok(quantity) if (1..=MAX_QUANTITY).contains(&quantity) => Ok(quantity),
        _ => Err(format!("must be between 1 and {MAX_QUANTITY}")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrder {
    customer_id: i64,
    items: Vec<RawOrderLine>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrderLine {
    product_id: i64,
    quantity: i64,
}

/// The body of `POST /orders`: 1..=[`MAX_ORDER_LINES`] lines, each product at most once, each
/// quantity in 1..=[`MAX_QUANTITY`].
#[derive(Debug, Clone)]
pub struct OrderForm {
    pub customer_id: i64,
    pub lines: Vec<NewOrderLine>,
}

impl Parse for OrderForm {
    type Raw = RawOrder;
    fn parse(raw: RawOrder) -> Result<OrderForm, ApiError> {
        let mut rules = Rules::default();
        let customer_id = rules.check("customer_id", id(raw.customer_id));
        if raw.items.is_empty() {
            rules.fail("items", "must list at least one product");
        } else if raw.items.len() > MAX_ORDER_LINES {
            rules.fail(
                "items",
                format!("must list at most {MAX_ORDER_LINES} products"),
            );
        }
        let mut seen = HashSet::new();
        let lines: Vec<Option<NewOrderLine>> = raw
            .items
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let product_id = rules.check(format!("items[{i}].product_id"), id(line.product_id));
                if !seen.insert(line.product_id) {
                    rules.fail(
                        format!("items[{i}].product_id"),
                        "is listed twice: give one line per product with its quantity",
                    );
                }
                let quantity = rules.check(format!("items[{i}].quantity"), quantity(line.quantity));
                Some(NewOrderLine {
                    product_id: product_id?,
                    quantity: quantity?,
                })
            })
            .collect();
        rules.finish(|| {
            Some(OrderForm {
                customer_id: customer_id?,
                lines: lines.into_iter().collect::<Option<_>>()?,
            })
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStatusChange {
    status: String,
}

/// The body of `PATCH /orders/{id}`: the status to move to. An unknown status reads fine as a
/// string, so it is a 422, not a 400.
#[derive(Debug, Clone, Copy)]
pub struct StatusChange {
    pub to: OrderStatus,
}

const STATUS_RULE: &str = "must be one of pending, paid, shipped, delivered, cancelled";

impl Parse for StatusChange {
    type Raw = RawStatusChange;
    fn parse(raw: RawStatusChange) -> Result<StatusChange, ApiError> {
        let to = raw
            .status
            .parse()
            .map_err(|_| ApiError::unprocessable("status", STATUS_RULE))?;
        Ok(StatusChange { to })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBulkStatus {
    from_status: String,
    to_status: String,
    /// RFC 3339, e.g. `2025-06-01T00:00:00Z`; any offset is converted to UTC.
    #[serde(default)]
    placed_before: Option<String>,
}

/// The body of `POST /orders/bulk-status`.
#[derive(Debug, Clone, Copy)]
pub struct BulkStatusChange {
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub placed_before: Option<NaiveDateTime>,
}

impl Parse for BulkStatusChange {
    type Raw = RawBulkStatus;
    fn parse(raw: RawBulkStatus) -> Result<BulkStatusChange, ApiError> {
        let mut rules = Rules::default();
        let mut status = |field: &str, text: &str| {
            rules.check(field, text.parse::<OrderStatus>().map_err(|_| STATUS_RULE))
        };
        let from = status("from_status", &raw.from_status);
        let to = status("to_status", &raw.to_status);
        // Outer `None`: the given time broke the rule. `Some(None)`: no time given.
        let placed_before = match raw.placed_before {
            Some(text) => rules
                .check(
                    "placed_before",
                    chrono::DateTime::parse_from_rfc3339(&text)
                        .map(|at| at.naive_utc())
                        .map_err(|_| "must be an RFC 3339 timestamp"),
                )
                .map(Some),
            None => Some(None),
        };
        rules.finish(|| {
            Some(BulkStatusChange {
                from: from?,
                to: to?,
                placed_before: placed_before?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_follow_the_contract() {
        for good in [
            "a@b.co",
            "Alice.Nguyen@Example.com",
            "x+tag@mail.example.org",
        ] {
            assert!(Email::parse(good).is_ok(), "{good} should pass");
        }
        let too_long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@b",
            "a@@b.co",
            "a@b@c.co",
            "a b@c.co",
            "a@.co",
            "a@co.",
            too_long.as_str(),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn emails_are_stored_lower_cased_and_trimmed() {
        assert_eq!(
            &*Email::parse("  Alice@Example.COM ").unwrap(),
            "alice@example.com"
        );
    }

    #[test]
    fn names_are_trimmed_and_counted_in_characters() {
        assert_eq!(&*Text::<3>::parse("  Zoë  ").unwrap(), "Zoë");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"é".repeat(101)).is_err());
        assert!(Name::parse(&"é".repeat(100)).is_ok());
        assert!(Name::parse("a\u{7}b").is_err());
    }

    #[test]
    fn a_body_reports_every_broken_rule_at_once() {
        let raw = RawOrder {
            customer_id: 0,
            items: vec![
                RawOrderLine {
                    product_id: 1,
                    quantity: 0,
                },
                RawOrderLine {
                    product_id: 1,
                    quantity: 2,
                },
            ],
        };
        let Err(ApiError::Unprocessable(errors)) = OrderForm::parse(raw) else {
            panic!("a 422");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["customer_id", "items[0].quantity", "items[1].product_id"]
        );
    }

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
