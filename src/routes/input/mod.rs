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
//!
//! This file holds the extractors and the small value types; `query.rs` the query strings of
//! the lists and reports, `body.rs` the JSON bodies.

use std::future::{ready, Future, Ready};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PayloadError, QueryPayloadError};
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::dashboard::Strategy;
use crate::error::{ApiError, FieldError};

mod body;
mod query;

pub use body::*;
pub use query::*;

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
#[derive(Debug, Clone, Copy, utoipa::IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct PathId(#[param(minimum = 1, example = 1)] pub i64);

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

/// The `{id}` of `/_debug/queries/{id}`: a request's `X-Request-Id`. Any text is taken: one
/// that names no remembered request is a 404 from the handler.
#[derive(Debug, Clone, utoipa::IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct PathRequestId(#[param(example = "6754a1c2-1f")] pub String);

impl FromRequest for PathRequestId {
    type Error = ApiError;
    type Future = Ready<Result<PathRequestId, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req.match_info().get("id").unwrap_or("").to_string();
        ready(Ok(PathRequestId(id)))
    }
}

/// The `{strategy}` of `/dashboard/{strategy}`; an unknown name is a 404 like an unknown route.
#[derive(Debug, Clone, Copy, utoipa::IntoParams)]
#[into_params(names("strategy"), parameter_in = Path)]
pub struct PathStrategy(#[param(inline)] pub Strategy);

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
}
