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

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::Connection;

/// One executed statement: its SQL text (bind values removed) and how long it took.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    pub duration: Duration,
}

/// Statements with the same (normalised) SQL text, counted together.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementGroup {
    pub sql: String,
    pub count: usize,
    pub total: Duration,
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
    let recorder = Recorder::new(log.clone());
    let lost = recorder.lost_connection.clone();
    conn.set_instrumentation(recorder);
    let result = f(conn);
    conn.set_instrumentation(diesel::connection::get_default_instrumentation());
    (result, lost.load(Ordering::Relaxed))
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
#[derive(Debug, Clone, Default)]
pub struct QueryLog {
    statements: Arc<Mutex<Vec<Statement>>>,
    request: Arc<str>,
}

impl QueryLog {
    /// A log for the request described by `request`, e.g. `"GET /customers"`.
    pub fn for_request(request: String) -> QueryLog {
        QueryLog {
            statements: Arc::default(),
            request: request.into(),
        }
    }

    pub fn request(&self) -> &str {
        &self.request
    }

    pub fn record(&self, sql: String, duration: Duration) {
        self.lock().push(Statement { sql, duration });
    }

    /// How many statements ran.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Time spent inside the database driver, summed over statements.
    pub fn total_duration(&self) -> Duration {
        self.lock().iter().map(|s| s.duration).sum()
    }

    /// The statements grouped by [`normalise`]d SQL text, in order of first appearance.
    /// An N+1 shows up here as one group with a large count.
    pub fn grouped(&self) -> Vec<StatementGroup> {
        let mut groups: Vec<StatementGroup> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for statement in self.lock().iter() {
            let sql = normalise(&statement.sql);
            match index.get(&sql) {
                Some(&i) => {
                    let group: &mut StatementGroup = &mut groups[i];
                    group.count += 1;
                    group.total += statement.duration;
                }
                None => {
                    index.insert(sql.clone(), groups.len());
                    groups.push(StatementGroup {
                        sql,
                        count: 1,
                        total: statement.duration,
                    });
                }
            }
        }
        groups
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Statement>> {
        // A panic while holding this lock cannot leave the Vec half-written, so a poisoned
        // lock is still safe to use.
        self.statements
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One shape for statements that differ only in how many parameters a list holds.
///
/// On SQLite, `belonging_to(&orders)` sends `IN (?, ?, ?)` with one `?` per id, and a
/// multi-row insert sends `VALUES (?, ?), (?, ?), ...`; a request that runs the "same"
/// statement for 3 ids and for 4 ids would otherwise look like two different statements.
/// PostgreSQL already sends one shape (`= ANY($1)`), so this changes nothing there.
pub fn normalise(sql: &str) -> String {
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
    out
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
    log: QueryLog,
    started: Option<Instant>,
    lost_connection: Arc<AtomicBool>,
}

impl Recorder {
    pub fn new(log: QueryLog) -> Recorder {
        Recorder {
            log,
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
                let duration = self.started.take().map(|t| t.elapsed()).unwrap_or_default();
                if error.is_some_and(is_lost_connection) {
                    self.lost_connection.store(true, Ordering::Relaxed);
                }
                // Diesel renders a query as `<sql> -- binds: [<values>]`.
                let rendered = query.to_string();
                let (sql, binds) = match rendered.split_once(" -- binds: ") {
                    Some((sql, binds)) => (sql, binds),
                    None => (rendered.as_str(), "[]"),
                };
                // The contract counts the statements a request asked for, not the BEGIN and
                // COMMIT around them.
                if is_transaction_control(sql) {
                    return;
                }
                tracing::debug!(
                    target: "mercado::sql",
                    request = self.log.request(),
                    // Microseconds are all the precision a duration here has to offer.
                    duration_ms = duration.as_micros() as f64 / 1e3,
                    binds,
                    failed = error.is_some(),
                    "{sql}"
                );
                self.log.record(sql.to_string(), duration);
            }
            _ => {}
        }
    }
}

fn is_transaction_control(sql: &str) -> bool {
    let first_word = sql
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        first_word.as_str(),
        "BEGIN" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" | "END"
    )
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

    #[test]
    fn the_detector_reports_the_most_repeated_statement_at_the_threshold() {
        let log = QueryLog::for_request("GET /x".to_string());
        log.record("SELECT 1".to_string(), Duration::from_millis(1));
        for _ in 0..3 {
            log.record(
                "SELECT `o` WHERE `c` = ?".to_string(),
                Duration::from_millis(2),
            );
        }
        for n in 1..=2 {
            let ids = vec!["?"; n].join(", ");
            log.record(
                format!("SELECT `i` WHERE `o` IN ({ids})"),
                Duration::from_millis(1),
            );
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
