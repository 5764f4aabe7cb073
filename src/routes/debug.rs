//! `GET /_debug/queries` and `GET /_debug/queries/{id}`: the last requests and the SQL each
//! one ran, as a summary per SQL text and as a timeline, statement by statement.
//!
//! They show SQL text (never bind values: only a hash of them, to tell duplicates), so they
//! are served only when `MERCADO_DEBUG_ENDPOINTS` is on, which by default it is only on a
//! loopback address.
//!
//! Memory is bounded: [`KEEP_REQUESTS`] requests, each with at most
//! [`crate::querylog::KEEP_STATEMENTS`] statements of 24 bytes on its timeline (about 1 MB) and its
//! SQL texts; 50 requests at the bound hold about 50 MB, a typical request a few kilobytes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::input::{DashboardQuery, Params, PathRequestId, PathStrategy, RawPage};
use super::{Db, Items};
use crate::error::ApiError;
use crate::explain::{self, ExplainedStatement};
use crate::openapi::NotFound;
use crate::querylog::{round_to_micros, Logged, StatementGroup};

/// How many requests the endpoints remember.
pub const KEEP_REQUESTS: usize = 50;
/// SQL texts listed per request in the summary, and characters kept per text: the summary of
/// `/_debug/queries` stays small whatever a request does. The detail lists every text.
const SUMMARY_GROUPS: usize = 100;
const SUMMARY_SQL_CHARS: usize = 2_000;

/// One request as `/_debug/queries` lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestRecord {
    /// The request's `X-Request-Id`.
    pub id: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub query_count: usize,
    pub duration_ms: f64,
    /// The request's statements grouped by SQL text, in order of first appearance.
    pub statements: Vec<StatementRecord>,
}

/// Every run of one SQL text in one request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatementRecord {
    pub sql: String,
    /// Runs of this text ("similar" statements).
    pub count: usize,
    pub total_ms: f64,
    /// Runs whose bind values an earlier run of this text already had.
    pub duplicates: usize,
}

impl StatementRecord {
    /// One SQL text's runs, its text cut to `max_chars`.
    fn new(group: &StatementGroup, max_chars: usize) -> StatementRecord {
        StatementRecord {
            sql: group.sql.chars().take(max_chars).collect(),
            count: group.count,
            total_ms: round_to_micros(group.total.as_secs_f64() * 1e3),
            duplicates: group.duplicates,
        }
    }
}

/// The N+1 detector's verdict on one request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Verdict {
    /// `MERCADO_N_PLUS_ONE_THRESHOLD`: runs of one text that count as an N+1.
    pub threshold: usize,
    pub detected: bool,
    /// The most repeated text and its runs, when detected.
    pub sql: Option<String>,
    pub count: Option<usize>,
}

/// One statement on a request's timeline.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TimelineEntry<'a> {
    /// Its SQL text, with placeholders (never bind values).
    sql: &'a str,
    /// Its text's index in `statements`: the same for every run of one text.
    group: u32,
    /// When it started, in milliseconds since the request started.
    offset_ms: f64,
    duration_ms: f64,
    failed: bool,
}

/// `GET /_debug/queries/{id}`: a request's whole record, borrowed from what is kept.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RequestDetail<'a> {
    id: &'a str,
    method: &'a str,
    path: &'a str,
    status: u16,
    query_count: usize,
    duration_ms: f64,
    /// Every SQL text (the summary lists the first ones), with its runs and duplicates.
    statements: Vec<StatementRecord>,
    /// Time inside the database driver, over every statement.
    db_ms: f64,
    /// Every statement in order, up to `kept_statements`.
    timeline: Vec<TimelineEntry<'a>>,
    /// How many statements are on the timeline; `query_count` counts them all.
    kept_statements: usize,
    /// Whether statements beyond the bound were left off the timeline.
    truncated: bool,
    n_plus_one: Verdict,
}

/// What is remembered of one request: what the middleware handed over, as it was. The
/// summary and the verdict are built when someone asks, not on the request's path: requests
/// are many and readers of `/_debug/queries` few.
#[derive(Debug)]
pub struct Kept {
    request: RequestSummary,
    logged: Logged,
    threshold: usize,
}

impl Kept {
    pub fn new(request: RequestSummary, logged: Logged, threshold: usize) -> Kept {
        Kept {
            request,
            logged,
            threshold,
        }
    }

    /// The request as `/_debug/queries` lists it.
    fn summary(&self) -> RequestRecord {
        let request = &self.request;
        RequestRecord {
            id: request.id.clone(),
            method: request.method.to_string(),
            path: request.path.clone(),
            status: request.status,
            query_count: self.logged.count,
            duration_ms: round_to_micros(request.duration_ms),
            statements: self
                .logged
                .groups
                .iter()
                .take(SUMMARY_GROUPS)
                .map(|group| StatementRecord::new(group, SUMMARY_SQL_CHARS))
                .collect(),
        }
    }

    /// The N+1 detector's verdict, as the middleware gave it.
    fn verdict(&self) -> Verdict {
        let flagged = StatementGroup::most_repeated(&self.logged.groups, self.threshold);
        Verdict {
            threshold: self.threshold,
            detected: flagged.is_some(),
            sql: flagged.map(|group| group.sql.clone()),
            count: flagged.map(|group| group.count),
        }
    }
}

/// The request-level facts the middleware knows.
#[derive(Debug, Clone)]
pub struct RequestSummary {
    pub id: String,
    pub method: actix_web::http::Method,
    pub path: String,
    pub status: u16,
    pub duration_ms: f64,
}

impl Kept {
    /// The detail's shape, borrowing the stored timeline and texts.
    pub fn detail(&self) -> RequestDetail<'_> {
        let groups = &self.logged.groups;
        let request = &self.request;
        RequestDetail {
            id: &request.id,
            method: request.method.as_str(),
            path: &request.path,
            status: request.status,
            query_count: self.logged.count,
            duration_ms: round_to_micros(request.duration_ms),
            statements: groups
                .iter()
                .map(|group| StatementRecord::new(group, usize::MAX))
                .collect(),
            db_ms: round_to_micros(self.logged.total.as_secs_f64() * 1e3),
            timeline: self
                .logged
                .statements
                .iter()
                .map(|s| TimelineEntry {
                    sql: groups
                        .get(s.group as usize)
                        .map_or("", |group| group.sql.as_str()),
                    group: s.group,
                    offset_ms: f64::from(s.offset_us) / 1e3,
                    duration_ms: f64::from(s.duration_us) / 1e3,
                    failed: s.failed,
                })
                .collect(),
            kept_statements: self.logged.statements.len(),
            truncated: self.logged.statements.len() < self.logged.count,
            n_plus_one: self.verdict(),
        }
    }
}

/// The last [`KEEP_REQUESTS`] requests, shared by every worker.
///
/// A ring of slots, each behind its own lock, filled in turn: a request takes a ticket from
/// an atomic counter and locks only its slot. One lock around the whole list made every
/// request on every worker wait for the others to finish remembering theirs.
#[derive(Debug)]
pub struct RecentRequests {
    slots: Vec<Mutex<Option<Ticketed>>>,
    next: AtomicU64,
}

/// A remembered request and its ticket: tickets give the order requests were remembered in.
type Ticketed = (u64, Arc<Kept>);

impl Default for RecentRequests {
    fn default() -> RecentRequests {
        RecentRequests {
            slots: (0..KEEP_REQUESTS).map(|_| Mutex::new(None)).collect(),
            next: AtomicU64::new(0),
        }
    }
}

impl RecentRequests {
    /// Remembers one request in the place of the oldest.
    pub fn record(&self, kept: Kept) {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = &self.slots[(ticket % KEEP_REQUESTS as u64) as usize];
        let forgotten = lock(slot).replace((ticket, Arc::new(kept)));
        // The oldest request is freed after the slot is unlocked.
        drop(forgotten);
    }

    /// Every remembered request, newest first.
    fn newest_first(&self) -> Vec<Arc<Kept>> {
        let mut kept: Vec<Ticketed> = self
            .slots
            .iter()
            .filter_map(|slot| lock(slot).clone())
            .collect();
        kept.sort_by_key(|(ticket, _)| std::cmp::Reverse(*ticket));
        kept.into_iter().map(|(_, kept)| kept).collect()
    }

    /// The summaries, newest first.
    pub fn snapshot(&self) -> Vec<RequestRecord> {
        self.newest_first()
            .iter()
            .map(|kept| kept.summary())
            .collect()
    }

    /// One request's record, while it is still remembered.
    pub fn find(&self, id: &str) -> Option<Arc<Kept>> {
        self.slots
            .iter()
            .filter_map(|slot| lock(slot).clone())
            .find(|(_, kept)| kept.request.id == id)
            .map(|(_, kept)| kept)
    }
}

/// A slot's lock. A panic while holding it cannot leave a half-written record (the slot is
/// replaced whole), so a poisoned lock is still safe to use.
fn lock<T>(slot: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The last requests, newest first, each with its statements grouped by SQL text.
#[utoipa::path(get, path = "/_debug/queries", tag = "debug", operation_id = "debug_queries",
    responses((status = 200, description = "The last requests.", body = Items<RequestRecord>)))]
pub async fn queries(recent: web::Data<RecentRequests>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(Items {
        items: recent.snapshot(),
    }))
}

/// One request's whole record: every statement in order with its start and duration, the
/// runs and duplicates per SQL text, and the N+1 detector's verdict.
#[utoipa::path(get, path = "/_debug/queries/{id}", tag = "debug", operation_id = "debug_query",
    params(PathRequestId),
    responses((status = 200, description = "The request's record.", body = RequestDetail),
        (status = 404, response = NotFound)))]
pub async fn query(
    recent: web::Data<RecentRequests>,
    PathRequestId(id): PathRequestId,
) -> Result<HttpResponse, ApiError> {
    let kept = recent.find(&id).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no request {id:?} is remembered: only the last {KEEP_REQUESTS} are kept"
        ))
    })?;
    Ok(HttpResponse::Ok().json(kept.detail()))
}

/// What `/_debug/explain/{strategy}` answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StrategyPlans {
    pub strategy: &'static str,
    /// `sqlite` (`EXPLAIN QUERY PLAN`) or `postgresql` (`EXPLAIN (ANALYZE, BUFFERS)`).
    pub backend: &'static str,
    /// Each distinct statement, in the order the strategy first sends it.
    pub statements: Vec<ExplainedStatement>,
    /// Rows returned over all statements and runs: what the strategy moves from the database.
    pub rows: usize,
}

/// For each distinct statement the strategy sends for that page: its SQL, how often it runs,
/// the rows it returns, and its plan (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN (ANALYZE,
/// BUFFERS)` on PostgreSQL, which runs the query).
#[utoipa::path(get, path = "/_debug/explain/{strategy}", tag = "debug", operation_id = "debug_explain",
    params(PathStrategy, RawPage),
    responses((status = 200, description = "The strategy's statements with their plans.", body = StrategyPlans),
        (status = 404, response = NotFound)))]
pub async fn explain(
    db: Db,
    PathStrategy(strategy): PathStrategy,
    Params(DashboardQuery { page }): Params<DashboardQuery>,
) -> Result<HttpResponse, ApiError> {
    let (backend, statements) = db
        .run(move |conn| {
            let backend = conn.backend();
            explain::explain_strategy(conn, strategy, page).map(|s| (backend, s))
        })
        .await?;
    let rows = statements.iter().map(|s| s.rows).sum();
    Ok(HttpResponse::Ok().json(StrategyPlans {
        strategy: strategy.name(),
        backend: backend.name(),
        statements,
        rows,
    }))
}
