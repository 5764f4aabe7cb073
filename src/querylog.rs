//! Seeing the SQL: the textbook's `echo=True`, in Diesel's terms.
//!
//! Diesel reports every statement a connection runs to the connection's
//! [`Instrumentation`]. [`db::run`](crate::db::run) installs a [`Recorder`] on the pooled
//! connection for the length of one request; the recorder writes each statement into the
//! request's [`QueryLog`], and logs it under the `mercado::sql` target, so
//! `RUST_LOG=mercado::sql=debug` prints every statement with its bind values. The middleware in
//! `app.rs` turns the log into the `X-Query-Count` and `Server-Timing` headers.
//!
//! You cannot fix an N+1 you cannot see: counting statements per request is how you see it.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::Connection;

/// The most statements a log keeps one by one, in order, for the waterfall of
/// `/_debug/queries/{id}` and the lab. Beyond it only the counts and sums go on, exact, and
/// the record says how many were not kept. `n-plus-one` at 5,000 customers sends about 30,000;
/// a kept statement costs 24 bytes, so one request keeps at most about 1 MB.
pub const KEEP_STATEMENTS: usize = 40_000;

/// One executed statement, in the order the request ran it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement {
    /// Which [`StatementGroup`] (SQL text) it belongs to: an index into [`Logged::groups`].
    pub group: u32,
    /// When it started, in microseconds since the request started.
    pub offset_us: u32,
    /// How long it took, in microseconds.
    pub duration_us: u32,
    pub failed: bool,
    /// A hash of its bind values: equal fingerprints under one SQL text are duplicates (the
    /// same query with the same values, run again). The values themselves are never kept.
    pub binds: u64,
}

/// Statements with the same (normalised) SQL text, counted together.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementGroup {
    pub sql: String,
    pub count: usize,
    pub total: Duration,
    /// Runs whose bind values an earlier run of the same text already had: "similar" is the
    /// same text, "duplicate" the same text *and* the same values (Django Debug Toolbar's
    /// terms). An N+1 is similar; a duplicate is a query whose answer was already in hand.
    pub duplicates: usize,
}

impl StatementGroup {
    /// The most repeated statement of `groups`, if it ran at least `threshold` times: the N+1
    /// detector. Ties go to the statement that appeared first.
    pub fn most_repeated(groups: &[StatementGroup], threshold: usize) -> Option<&StatementGroup> {
        groups
            .iter()
            .fold(None, |best: Option<&StatementGroup>, group| match best {
                Some(best) if best.count >= group.count => Some(best),
                _ => Some(group),
            })
            .filter(|group| group.count >= threshold)
    }
}

/// Everything a request's log holds once the request is over.
#[derive(Debug, Clone, Default)]
pub struct Logged {
    /// Every SQL text the request ran, in order of first appearance.
    pub groups: Vec<StatementGroup>,
    /// The first [`KEEP_STATEMENTS`] statements, in order.
    pub statements: Vec<Statement>,
    /// All statements, kept or not.
    pub count: usize,
    /// Time inside the database driver, over all statements.
    pub total: Duration,
}

/// What a log gathers while its request runs.
#[derive(Debug, Default)]
struct Entries {
    logged: Logged,
    /// Group of each normalised SQL text.
    index: HashMap<String, u32>,
    /// Bind fingerprints seen so far, per group, to tell duplicates.
    seen: Vec<HashSet<u64>>,
}

/// Runs `f` on `conn` with a [`Recorder`] writing every statement into `log`, then puts the
/// default instrumentation back. Also says whether a statement found the connection gone,
/// which `db::run` passes on to the pool. Installed only around `f`, so whatever else the
/// connection runs (its set-up PRAGMAs) is not counted.
///
/// Any Diesel connection will do: instrumentation is part of the `Connection` trait, so this
/// module needs nothing from `db.rs`.
pub fn recording<C: Connection, T>(
    conn: &mut C,
    log: &QueryLog,
    f: impl FnOnce(&mut C) -> T,
) -> (T, bool) {
    // Already recording (a tool measuring inside a request): add this log to the recorder for
    // the length of `f`, so the request's log still counts every statement too.
    if let Some(recorder) = conn.instrumentation().downcast_mut::<Recorder>() {
        recorder.logs.push(log.clone());
        let result = f(conn);
        let lost = match conn.instrumentation().downcast_mut::<Recorder>() {
            Some(recorder) => {
                recorder.logs.pop();
                recorder.lost_connection.load(Ordering::Relaxed)
            }
            None => false,
        };
        return (result, lost);
    }
    let recorder = Recorder::new(log.clone());
    let lost = recorder.lost_connection.clone();
    conn.set_instrumentation(recorder);
    let result = f(conn);
    conn.set_instrumentation(diesel::connection::get_default_instrumentation());
    (result, lost.load(Ordering::Relaxed))
}

/// Milliseconds to three decimals (microseconds): all the precision a timing here carries.
/// For JSON (logs, `/_debug/queries`), where `0.17694100000000001` would only be noise.
pub fn round_to_micros(ms: f64) -> f64 {
    (ms * 1e3).round() / 1e3
}

/// What [`measure`] saw.
#[derive(Debug, Clone)]
pub struct Measured<T> {
    /// What the last run returned.
    pub value: T,
    /// Statements the last run sent.
    pub statements: usize,
    /// The fastest run.
    pub best: Duration,
}

/// Runs `f` on `conn` `runs` times (at least once), counting the statements of each run, and
/// keeps the fastest time. The first run also warms caches (SQLite's pages, Diesel's prepared
/// statements) that are not what a comparison is about; the best of a few runs leaves them out.
/// `mercado demo` and the dashboard benchmark both measure with it.
pub fn measure<C: Connection, T, E>(
    conn: &mut C,
    runs: usize,
    mut f: impl FnMut(&mut C) -> Result<T, E>,
) -> Result<Measured<T>, E> {
    let mut once = |conn: &mut C| {
        let log = QueryLog::for_request("measure".to_string());
        let started = Instant::now();
        let (value, _) = recording(conn, &log, &mut f);
        value.map(|value| (value, log.count(), started.elapsed()))
    };
    let (mut value, mut statements, mut best) = once(conn)?;
    for _ in 1..runs {
        let (next, count, took) = once(conn)?;
        (value, statements, best) = (next, count, best.min(took));
    }
    Ok(Measured {
        value,
        statements,
        best,
    })
}

/// The statements one request ran, and which request that is (`GET /orders`), for the log.
/// Cheap to clone: clones share one list.
#[derive(Debug, Clone)]
pub struct QueryLog {
    entries: Arc<Mutex<Entries>>,
    request: Arc<str>,
    id: Arc<str>,
    started: Instant,
}

impl Default for QueryLog {
    fn default() -> QueryLog {
        QueryLog::for_request(String::new())
    }
}

impl QueryLog {
    /// A log for the request described by `request`, e.g. `"GET /customers"`, starting now.
    pub fn for_request(request: String) -> QueryLog {
        QueryLog {
            entries: Arc::default(),
            request: request.into(),
            id: Arc::from(""),
            started: Instant::now(),
        }
    }

    /// The same log, tagged with the request's `X-Request-Id` for the SQL log lines.
    pub fn with_id(mut self, id: &str) -> QueryLog {
        self.id = id.into();
        self
    }

    pub fn request(&self) -> &str {
        &self.request
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Notes one statement that started at `started` and took `duration`.
    pub fn record(
        &self,
        sql: &str,
        binds: &str,
        started: Instant,
        duration: Duration,
        failed: bool,
    ) {
        let fingerprint = {
            let mut hasher = DefaultHasher::new();
            binds.hash(&mut hasher);
            hasher.finish()
        };
        let normalised = normalise(sql);
        let micros = |d: Duration| u32::try_from(d.as_micros()).unwrap_or(u32::MAX);
        let offset = started.saturating_duration_since(self.started);

        let mut entries = self.lock();
        let Entries {
            logged,
            index,
            seen,
        } = &mut *entries;
        // A text seen before costs a lookup and no allocation: the common case in a request.
        let group = match index.get(normalised.as_ref()) {
            Some(&group) => group,
            None => {
                let group = logged.groups.len() as u32;
                let sql = normalised.into_owned();
                logged.groups.push(StatementGroup {
                    sql: sql.clone(),
                    count: 0,
                    total: Duration::ZERO,
                    duplicates: 0,
                });
                seen.push(HashSet::new());
                index.insert(sql, group);
                group
            }
        };
        let stats = &mut logged.groups[group as usize];
        stats.count += 1;
        stats.total += duration;
        if !seen[group as usize].insert(fingerprint) {
            stats.duplicates += 1;
        }
        logged.count += 1;
        logged.total += duration;
        if logged.statements.len() < KEEP_STATEMENTS {
            logged.statements.push(Statement {
                group,
                offset_us: micros(offset),
                duration_us: micros(duration),
                failed,
                binds: fingerprint,
            });
        }
    }

    /// How many statements ran.
    pub fn count(&self) -> usize {
        self.lock().logged.count
    }

    /// Time spent inside the database driver, summed over statements.
    pub fn total_duration(&self) -> Duration {
        self.lock().logged.total
    }

    /// The statements grouped by [`normalise`]d SQL text, in order of first appearance.
    /// An N+1 shows up here as one group with a large count.
    pub fn grouped(&self) -> Vec<StatementGroup> {
        self.lock().logged.groups.clone()
    }

    /// Takes everything logged so far out of the log, leaving it empty: the request is over,
    /// and its record for `/_debug/queries` takes the statements without copying them.
    pub fn take(&self) -> Logged {
        let mut entries = self.lock();
        entries.index.clear();
        entries.seen.clear();
        std::mem::take(&mut entries.logged)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding this lock cannot leave the entries half-written in a way that
        // matters to a debug view, so a poisoned lock is still safe to use.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One shape for statements that differ only in how many parameters a list holds.
///
/// On SQLite, `belonging_to(&orders)` sends `IN (?, ?, ?)` with one `?` per id, and a
/// multi-row insert sends `VALUES (?, ?), (?, ?), ...`; a request that runs the "same"
/// statement for 3 ids and for 4 ids would otherwise look like two different statements.
/// PostgreSQL already sends one shape (`= ANY($1)`), so this changes nothing there, and
/// returns the text as it is, without copying it.
pub fn normalise(sql: &str) -> Cow<'_, str> {
    if !sql.contains("(?") {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len().min(512));
    let mut rest = sql;
    while let Some(start) = rest.find('(') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        match placeholder_list_len(after) {
            Some(len) => {
                out.push_str("(?, ...)");
                rest = &after[len..];
                // Collapse the `, (?, ?), (?, ?)` runs that follow: further VALUES rows.
                while let Some(next) = rest.strip_prefix(", ") {
                    match placeholder_list_len(next) {
                        Some(len) => rest = &next[len..],
                        None => break,
                    }
                }
            }
            None => {
                out.push('(');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// If `text` starts with `(?, ?, ...)` (SQLite's bare `?` placeholders), its length.
fn placeholder_list_len(text: &str) -> Option<usize> {
    let body = text.strip_prefix('(')?;
    let end = body.find(')')?;
    let inner = &body[..end];
    let all_placeholders = !inner.is_empty() && inner.split(", ").all(|part| part == "?");
    all_placeholders.then_some(end + 2)
}

/// The Diesel instrumentation that feeds a [`QueryLog`].
pub struct Recorder {
    /// The request's log first; then any log a tool inside the request opened with a nested
    /// [`recording`] (the explain endpoint runs a strategy to see its statements). Every
    /// statement goes into all of them.
    logs: Vec<QueryLog>,
    started: Option<Instant>,
    lost_connection: Arc<AtomicBool>,
}

impl Recorder {
    pub fn new(log: QueryLog) -> Recorder {
        Recorder {
            logs: vec![log],
            started: None,
            lost_connection: Arc::default(),
        }
    }
}

fn is_lost_connection(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        error,
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

impl Instrumentation for Recorder {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => self.started = Some(Instant::now()),
            InstrumentationEvent::FinishQuery { query, error, .. } => {
                let started = self.started.take().unwrap_or_else(Instant::now);
                let duration = started.elapsed();
                if error.is_some_and(is_lost_connection) {
                    self.lost_connection.store(true, Ordering::Relaxed);
                }
                // Diesel renders a query as `<sql> -- binds: [<values>]`, into a buffer this
                // thread keeps from one statement to the next: rendering is the recorder's
                // main cost, and growing a fresh string for each statement was a third of it.
                RENDERED.with_borrow_mut(|rendered| {
                    rendered.clear();
                    let _ = write!(rendered, "{query}");
                    self.note(rendered, started, duration, error);
                });
            }
            _ => {}
        }
    }
}

thread_local! {
    /// The text of the statement being recorded, reused by each statement this thread runs.
    static RENDERED: RefCell<String> = const { RefCell::new(String::new()) };
}

impl Recorder {
    /// Logs and records one rendered statement that has finished.
    fn note(
        &self,
        rendered: &str,
        started: Instant,
        duration: Duration,
        error: Option<&diesel::result::Error>,
    ) {
        let (sql, binds) = rendered
            .split_once(" -- binds: ")
            .unwrap_or((rendered, "[]"));
        // The contract counts the statements a request asked for, not the BEGIN and COMMIT
        // around them.
        if is_transaction_control(sql) {
            return;
        }
        let Some(request) = self.logs.first() else {
            return;
        };
        tracing::debug!(
            target: "mercado::sql",
            request = request.request(),
            request_id = request.id(),
            // Microseconds are all the precision a duration here has to offer.
            duration_ms = duration.as_micros() as f64 / 1e3,
            binds,
            failed = error.is_some(),
            "{sql}"
        );
        for log in &self.logs {
            log.record(sql, binds, started, duration, error.is_some());
        }
    }
}

fn is_transaction_control(sql: &str) -> bool {
    let first_word = sql.split_whitespace().next().unwrap_or("");
    ["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "END"]
        .iter()
        .any(|keyword| first_word.eq_ignore_ascii_case(keyword))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_lists_of_any_length_share_one_shape() {
        let three = "SELECT `a` FROM `t` WHERE (`t`.`id` IN (?, ?, ?)) ORDER BY `a`";
        let one = "SELECT `a` FROM `t` WHERE (`t`.`id` IN (?)) ORDER BY `a`";
        assert_eq!(normalise(three), normalise(one));
        assert_eq!(
            normalise(three),
            "SELECT `a` FROM `t` WHERE (`t`.`id` IN (?, ...)) ORDER BY `a`"
        );
        let rows = "INSERT INTO `t` (`a`, `b`) VALUES (?, ?), (?, ?), (?, ?)";
        assert_eq!(
            normalise(rows),
            "INSERT INTO `t` (`a`, `b`) VALUES (?, ...)"
        );
        // Column lists and PostgreSQL's numbered parameters are left alone.
        let pg = "SELECT \"a\" FROM \"t\" WHERE (\"t\".\"id\" = ANY($1)) LIMIT $2";
        assert_eq!(normalise(pg), pg);
    }

    /// Records one statement that took `ms` milliseconds with the given binds.
    fn run(log: &QueryLog, sql: &str, binds: &str, ms: u64) {
        log.record(sql, binds, Instant::now(), Duration::from_millis(ms), false);
    }

    #[test]
    fn the_detector_reports_the_most_repeated_statement_at_the_threshold() {
        let log = QueryLog::for_request("GET /x".to_string());
        run(&log, "SELECT 1", "[]", 1);
        for customer in 1..=3 {
            run(
                &log,
                "SELECT `o` WHERE `c` = ?",
                &format!("[{customer}]"),
                2,
            );
        }
        for n in 1..=2 {
            let ids = vec!["?"; n].join(", ");
            run(&log, &format!("SELECT `i` WHERE `o` IN ({ids})"), "[]", 1);
        }
        let groups = log.grouped();
        let top = StatementGroup::most_repeated(&groups, 3)
            .expect("three repeats reach a threshold of 3");
        assert_eq!(
            (top.sql.as_str(), top.count),
            ("SELECT `o` WHERE `c` = ?", 3)
        );
        assert_eq!(top.total, Duration::from_millis(6));
        assert!(StatementGroup::most_repeated(&groups, 4).is_none());
        assert_eq!(log.grouped().len(), 3, "the two IN lists are one group");
    }

    #[test]
    fn similar_statements_are_duplicates_only_when_their_binds_repeat() {
        let log = QueryLog::for_request("GET /x".to_string());
        for customer in [1, 2, 1, 3, 1] {
            run(
                &log,
                "SELECT `o` WHERE `c` = ?",
                &format!("[{customer}]"),
                1,
            );
        }
        let logged = log.take();
        assert_eq!(logged.groups[0].count, 5, "five similar");
        assert_eq!(logged.groups[0].duplicates, 2, "customer 1 twice again");
        let fingerprints: Vec<u64> = logged.statements.iter().map(|s| s.binds).collect();
        assert_eq!(fingerprints[0], fingerprints[2]);
        assert_ne!(fingerprints[0], fingerprints[1]);
        assert_eq!(log.count(), 0, "take empties the log");
    }

    #[test]
    fn statements_are_kept_in_order_up_to_the_bound_and_counted_beyond_it() {
        let log = QueryLog::for_request("GET /x".to_string());
        for i in 0..KEEP_STATEMENTS + 5 {
            let sql = if i == 0 { "SELECT 1" } else { "SELECT 2" };
            run(&log, sql, &format!("[{i}]"), 0);
        }
        let logged = log.take();
        assert_eq!(logged.count, KEEP_STATEMENTS + 5);
        assert_eq!(logged.statements.len(), KEEP_STATEMENTS);
        assert_eq!(logged.groups[1].count, KEEP_STATEMENTS + 4);
        assert_eq!(logged.statements[0].group, 0);
        assert!(logged.statements[1..].iter().all(|s| s.group == 1));
        assert!(logged
            .statements
            .windows(2)
            .all(|w| w[0].offset_us <= w[1].offset_us));
    }

    #[test]
    fn transaction_control_is_not_counted_but_statements_are() {
        assert!(is_transaction_control("BEGIN IMMEDIATE"));
        assert!(is_transaction_control("begin"));
        assert!(is_transaction_control("SAVEPOINT diesel_savepoint_1"));
        assert!(is_transaction_control(
            "RELEASE SAVEPOINT diesel_savepoint_1"
        ));
        assert!(is_transaction_control(
            "ROLLBACK TO SAVEPOINT diesel_savepoint_1"
        ));
        assert!(!is_transaction_control("SELECT 1"));
        assert!(!is_transaction_control(
            "UPDATE \"orders\" SET \"status\" = $1"
        ));
    }
}
