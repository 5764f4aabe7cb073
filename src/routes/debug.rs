//! `GET /_debug/queries`: the last requests and the SQL each one ran, newest first.
//!
//! It shows SQL text (never bind values), so it is served only when `MERCADO_DEBUG_ENDPOINTS`
//! is on, which by default it is only on a loopback address.

use std::collections::VecDeque;
use std::sync::Mutex;

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::error::ApiError;
use crate::querylog::{QueryLog, StatementGroup};

/// How many requests the endpoint remembers.
pub const KEEP_REQUESTS: usize = 50;
/// Distinct statements kept per request, and characters kept per statement: bounds on memory
/// whatever a request does.
const KEEP_STATEMENTS: usize = 100;
const KEEP_SQL_CHARS: usize = 2_000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub query_count: usize,
    pub duration_ms: f64,
    pub statements: Vec<StatementRecord>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatementRecord {
    pub sql: String,
    pub count: usize,
    pub total_ms: f64,
}

/// The last [`KEEP_REQUESTS`] requests, shared by every worker.
#[derive(Debug, Default)]
pub struct RecentRequests(Mutex<VecDeque<RequestRecord>>);

impl RecentRequests {
    /// Remembers one request; `groups` is its log already grouped by SQL text.
    pub fn record(
        &self,
        method: &str,
        path: &str,
        status: u16,
        duration_ms: f64,
        log: &QueryLog,
        groups: &[StatementGroup],
    ) {
        let statements = groups
            .iter()
            .take(KEEP_STATEMENTS)
            .map(|group| StatementRecord {
                sql: group.sql.chars().take(KEEP_SQL_CHARS).collect(),
                count: group.count,
                total_ms: group.total.as_secs_f64() * 1e3,
            })
            .collect();
        let record = RequestRecord {
            method: method.to_string(),
            path: path.to_string(),
            status,
            query_count: log.count(),
            duration_ms,
            statements,
        };
        let mut recent = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == KEEP_REQUESTS {
            recent.pop_back();
        }
        recent.push_front(record);
    }

    pub fn snapshot(&self) -> Vec<RequestRecord> {
        let recent = self.0.lock().unwrap_or_else(|p| p.into_inner());
        recent.iter().cloned().collect()
    }
}

/// The last requests, newest first, each with its statements grouped by SQL text.
#[utoipa::path(get, path = "/_debug/queries", tag = "debug", operation_id = "debug_queries",
    responses((status = 200, description = "The last requests.", body = super::Items<RequestRecord>)))]
pub async fn queries(recent: web::Data<RecentRequests>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(super::Items {
        items: recent.snapshot(),
    }))
}
