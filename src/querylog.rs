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

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};

/// One executed statement: its SQL text (bind values removed) and how long it took.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    pub duration: Duration,
}

/// The statements one request ran. Cheap to clone: clones share one list.
#[derive(Debug, Clone, Default)]
pub struct QueryLog(Arc<Mutex<Vec<Statement>>>);

impl QueryLog {
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

    pub fn statements(&self) -> Vec<Statement> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Statement>> {
        // A panic while holding this lock cannot leave the Vec half-written, so a poisoned
        // lock is still safe to use.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The Diesel instrumentation that feeds a [`QueryLog`].
pub struct Recorder {
    log: QueryLog,
    started: Option<Instant>,
}

impl Recorder {
    pub fn new(log: QueryLog) -> Recorder {
        Recorder { log, started: None }
    }
}

impl Instrumentation for Recorder {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => self.started = Some(Instant::now()),
            InstrumentationEvent::FinishQuery { query, error, .. } => {
                let duration = self.started.take().map(|t| t.elapsed()).unwrap_or_default();
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
                    duration_ms = duration.as_secs_f64() * 1e3,
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
