//! One error type for the whole service, and how each variant becomes an RFC 9457
//! `application/problem+json` response.
//!
//! Database errors are mapped by *kind*, which Diesel reports the same way for SQLite and
//! PostgreSQL: a unique violation is a 409 on both, whatever the driver's message says. Anything
//! unexpected becomes a 500 whose body is fixed; its detail goes to the log only, because an
//! error message can carry SQL, table names or data the client must not see.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError};
use serde::Serialize;

use crate::db::DbError;

/// The `errors[]` entries of a 422: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every way a request can fail. The contract's error table, one variant per status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body or a query parameter could not be read.
    #[error("{0}")]
    BadRequest(String),
    /// 404: no such row, or no such route.
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists, the method does not; `allow` lists the methods that do.
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    /// 409: the request clashes with what is stored (a taken email, a referenced row, a status move).
    #[error("{detail}")]
    Conflict {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// 413: the body is over the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: the body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: the body parsed but breaks a rule.
    #[error("{}", summary(.0))]
    Unprocessable(Vec<FieldError>),
    /// 503: the database is unreachable or no pooled connection came free in time.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an unforeseen failure. The text is logged, never sent.
    #[error("{0}")]
    Internal(String),
}

/// The body every 500 carries, whatever went wrong.
pub const INTERNAL_ERROR_DETAIL: &str =
    "An unexpected error occurred. It has been logged; please try again later.";

/// Seconds a client is asked to wait after a 503.
const RETRY_AFTER_SECONDS: &str = "1";

impl ApiError {
    pub fn not_found(what: &str, id: i64) -> ApiError {
        ApiError::NotFound(format!("{what} {id} does not exist"))
    }

    pub fn conflict(detail: impl Into<String>) -> ApiError {
        ApiError::Conflict {
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn unprocessable(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Unprocessable(vec![FieldError::new(field, message)])
    }

    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError::Internal(detail.into())
    }

    /// For deletes: a foreign-key violation means other rows still point at this one (409),
    /// and `detail` says which. Any other error maps as usual.
    pub fn still_referenced(detail: &str) -> impl FnOnce(DieselError) -> ApiError {
        let detail = detail.to_string();
        move |err| match err {
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                ApiError::conflict(format!("{detail}: delete those first"))
            }
            other => ApiError::from(other),
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Internal(_) => INTERNAL_ERROR_DETAIL.to_string(),
            ApiError::MethodNotAllowed { allow } => {
                format!("this route accepts only: {allow}")
            }
            other => other.to_string(),
        }
    }
}

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<DieselError> for ApiError {
    fn from(err: DieselError) -> ApiError {
        match err {
            DieselError::NotFound => ApiError::NotFound("not found".to_string()),
            DieselError::DatabaseError(kind, info) => from_database_error(kind, info.as_ref()),
            other => ApiError::Internal(format!("database error: {other}")),
        }
    }
}

fn from_database_error(kind: DatabaseErrorKind, info: &dyn DatabaseErrorInformation) -> ApiError {
    match kind {
        DatabaseErrorKind::UniqueViolation => {
            let field = unique_field(info);
            ApiError::Conflict {
                detail: match field {
                    "product_id" => "an order lists the same product twice".to_string(),
                    "value" => "a unique value is already taken".to_string(),
                    field => format!("{field} is already taken"),
                },
                errors: vec![FieldError::new(field, "is already taken")],
            }
        }
        DatabaseErrorKind::ForeignKeyViolation => {
            ApiError::conflict("the row is still referenced by other rows")
        }
        // The handlers validate input before writing; these are the database's own backstop.
        DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => {
            let field = info.column_name().unwrap_or("body").to_string();
            ApiError::Unprocessable(vec![FieldError::new(field, "breaks a rule of the schema")])
        }
        DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
            ApiError::Unavailable("the database connection was lost".to_string())
        }
        DatabaseErrorKind::SerializationFailure => {
            ApiError::Unavailable("the database was busy with a conflicting write".to_string())
        }
        // PostgreSQL refuses a NUL byte in text (SQLite would store it). Input rules catch it
        // first; this keeps any path they miss a 400 rather than a 500.
        _ if info.message().contains("invalid byte sequence") => {
            ApiError::BadRequest("text must not contain NUL bytes".to_string())
        }
        // SQLite reports a lock that outlasted busy_timeout as a generic error.
        _ if is_sqlite_busy(info.message()) => {
            ApiError::Unavailable("the database was busy; try again".to_string())
        }
        _ => ApiError::Internal(format!("database error ({kind:?}): {}", info.message())),
    }
}

/// Names the column behind a unique violation. PostgreSQL reports the constraint name
/// (`customers_email_key`); SQLite puts the columns in the message
/// (`UNIQUE constraint failed: customers.email`). The migrations name constraints so both match.
fn unique_field(info: &dyn DatabaseErrorInformation) -> &'static str {
    let text = format!(
        "{} {}",
        info.constraint_name().unwrap_or(""),
        info.message()
    );
    if text.contains("email") {
        "email"
    } else if text.contains("sku") {
        "sku"
    } else if text.contains("product_id") {
        "product_id"
    } else {
        "value"
    }
}

fn is_sqlite_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> ApiError {
        match err {
            DbError::Unavailable(_) => {
                tracing::warn!(error = %err, "no database connection available");
                ApiError::Unavailable(
                    "the database is unavailable or busy; no connection came free in time"
                        .to_string(),
                )
            }
            DbError::TaskFailed(_) => ApiError::Internal(err.to_string()),
        }
    }
}

/// The body of every error response: an RFC 9457 problem, `application/problem+json`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The status's reason phrase, e.g. `Unprocessable Entity`.
    title: &'static str,
    status: u16,
    /// What went wrong, for a human; a 422 or 409 lists its fields here too.
    detail: String,
    /// On a 422 (and some 409s): each field that broke a rule, and the rule.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    #[schema(required = false)]
    errors: &'a [FieldError],
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(detail) = self {
            tracing::error!(%detail, "request failed with an internal error");
        }
        let status = self.status_code();
        let errors: &[FieldError] = match self {
            ApiError::Unprocessable(errors) | ApiError::Conflict { errors, .. } => errors,
            _ => &[],
        };
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.detail(),
            errors,
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        match self {
            ApiError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS));
            }
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            _ => {}
        }
        response.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for the driver's error details.
    struct Info {
        message: &'static str,
        constraint: Option<&'static str>,
    }

    impl DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.message
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            self.constraint
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn db_error_raw(kind: DatabaseErrorKind, message: &'static str) -> DieselError {
        let info = Info {
            message,
            constraint: None,
        };
        DieselError::DatabaseError(kind, Box::new(info))
    }

    fn db_error(kind: DatabaseErrorKind, message: &'static str) -> ApiError {
        ApiError::from(db_error_raw(kind, message))
    }

    #[test]
    fn every_variant_has_its_status() {
        let table: Vec<(ApiError, u16)> = vec![
            (ApiError::BadRequest("x".into()), 400),
            (ApiError::not_found("customer", 1), 404),
            (
                ApiError::MethodNotAllowed {
                    allow: "GET".into(),
                },
                405,
            ),
            (ApiError::conflict("x"), 409),
            (ApiError::PayloadTooLarge("x".into()), 413),
            (ApiError::UnsupportedMediaType("x".into()), 415),
            (ApiError::unprocessable("name", "x"), 422),
            (ApiError::Unavailable("x".into()), 503),
            (ApiError::internal("x"), 500),
        ];
        for (error, status) in table {
            assert_eq!(error.status_code().as_u16(), status, "{error:?}");
        }
    }

    #[test]
    fn database_errors_map_by_kind() {
        use DatabaseErrorKind::*;
        let table: Vec<(ApiError, u16)> = vec![
            (ApiError::from(DieselError::NotFound), 404),
            (
                db_error(UniqueViolation, "UNIQUE constraint failed: customers.email"),
                409,
            ),
            (
                db_error(ForeignKeyViolation, "FOREIGN KEY constraint failed"),
                409,
            ),
            (db_error(CheckViolation, "CHECK constraint failed"), 422),
            (
                db_error(NotNullViolation, "NOT NULL constraint failed"),
                422,
            ),
            (
                db_error(ClosedConnection, "server closed the connection"),
                503,
            ),
            (
                db_error(UnableToSendCommand, "no connection to the server"),
                503,
            ),
            (db_error(SerializationFailure, "could not serialize"), 503),
            (db_error(Unknown, "database is locked"), 503),
            (
                db_error(Unknown, "invalid byte sequence for encoding \"UTF8\": 0x00"),
                400,
            ),
            (db_error(Unknown, "syntax error"), 500),
            (ApiError::from(DieselError::RollbackTransaction), 500),
        ];
        for (error, status) in table {
            assert_eq!(error.status_code().as_u16(), status, "{error:?}");
        }
    }

    #[test]
    fn a_foreign_key_violation_on_delete_names_what_still_refers_to_the_row() {
        let err = db_error_raw(
            DatabaseErrorKind::ForeignKeyViolation,
            "FOREIGN KEY constraint failed",
        );
        let api = ApiError::still_referenced("the customer has orders")(err);
        assert_eq!(api.status_code().as_u16(), 409);
        assert_eq!(
            api.to_string(),
            "the customer has orders: delete those first"
        );
        // Any other error passes through unchanged.
        let api = ApiError::still_referenced("x")(DieselError::NotFound);
        assert_eq!(api.status_code().as_u16(), 404);
    }

    #[test]
    fn no_free_connection_in_time_is_a_503() {
        let pool = r2d2::Pool::builder()
            .connection_timeout(std::time::Duration::from_millis(10))
            .build_unchecked(crate::db::DbManager::new(
                crate::db::DbTarget::parse("postgres://nobody@127.0.0.1:1/none").unwrap(),
            ));
        let timed_out = pool.get().map(drop).unwrap_err();
        let api = ApiError::from(DbError::from(timed_out));
        assert_eq!(api.status_code().as_u16(), 503);
    }

    #[test]
    fn unique_violations_name_the_field_on_both_backends() {
        let sqlite = db_error(
            DatabaseErrorKind::UniqueViolation,
            "UNIQUE constraint failed: products.sku",
        );
        assert_eq!(sqlite.to_string(), "sku is already taken");
        let postgres = ApiError::from(DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new(Info {
                message: "duplicate key value violates unique constraint",
                constraint: Some("customers_email_key"),
            }),
        ));
        assert_eq!(postgres.to_string(), "email is already taken");
    }

    #[test]
    fn an_internal_error_never_shows_its_detail() {
        let response = ApiError::internal("password=hunter2 in SQL").error_response();
        assert_eq!(response.status().as_u16(), 500);
        let body = actix_web::rt::System::new()
            .block_on(actix_web::body::to_bytes(response.into_body()))
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains(INTERNAL_ERROR_DETAIL));
    }

    #[test]
    fn unavailable_carries_retry_after() {
        let response = ApiError::Unavailable("down".into()).error_response();
        assert!(response.headers().contains_key(header::RETRY_AFTER));
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
    }
}
