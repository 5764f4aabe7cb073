//! Configuration: every environment variable Mercado reads, with its default, read once at
//! start-up into a [`Config`].
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | `mercado.db` | a file path or `sqlite://path` (SQLite, created if missing), or `postgres://...` / `postgresql://...` |
//! | `MERCADO_BIND` | `127.0.0.1:8080` | the address to listen on |
//! | `MERCADO_POOL_SIZE` | 8 | connections in the r2d2 pool |
//! | `MERCADO_POOL_TIMEOUT_MS` | 5000 | how long a request waits for a pooled connection before a 503 |
//! | `MERCADO_SEED_DEMO` | `true` | on `serve`, load a small demo shop when there are no customers |
//! | `MERCADO_N_PLUS_ONE_THRESHOLD` | 10 | repetitions of one statement in one request that count as an N+1 (2 or more) |
//! | `MERCADO_DEBUG_ENDPOINTS` | `true` on a loopback bind address, else `false` | serve `/_debug/queries` |
//! | `MERCADO_API_DOCS` | `true` | serve `/openapi.json` and the docs UI at `/docs` (404 when off) |
//! | `MERCADO_METRICS` | `true` on a loopback bind address, else `false` | serve `/metrics` (Prometheus) |
//! | `MERCADO_LOG_FORMAT` | `text` | `json` writes one JSON object per log line |
//! | `RUST_LOG` | `info` | log filter; `RUST_LOG=mercado::sql=debug` logs every statement |
//!
//! `main` loads a `.env` file into the environment before anything reads it (see `.env.example`).

use std::net::ToSocketAddrs;
use std::time::Duration;

pub const DEFAULT_DATABASE_URL: &str = "mercado.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// A real deployment sizes the pool from load tests; 8 is plenty for a 2-core teaching machine.
pub const DEFAULT_POOL_SIZE: u32 = 8;
pub const DEFAULT_POOL_TIMEOUT_MS: u64 = 5000;
pub const DEFAULT_SEED_DEMO: bool = true;
/// The spec and the docs UI reveal nothing private, so they are on everywhere by default.
pub const DEFAULT_API_DOCS: bool = true;
pub const DEFAULT_N_PLUS_ONE_THRESHOLD: usize = 10;
/// A statement that runs once is not a repeat: the detector needs at least two runs.
pub const MIN_N_PLUS_ONE_THRESHOLD: usize = 2;

/// Everything the service needs to know about its surroundings.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub bind: String,
    pub pool_size: u32,
    pub pool_timeout: Duration,
    pub seed_demo: bool,
    pub n_plus_one_threshold: usize,
    pub debug_endpoints: bool,
    pub api_docs: bool,
    pub metrics: bool,
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// For people: one line of text per event (the default).
    Text,
    /// For machines: one JSON object per line, every field a key.
    Json,
}

/// A variable that is set but cannot be understood. Start-up stops with this message, which
/// names the variable, the value given, and what would have been accepted.
#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?} is not valid: {expected}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub expected: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can configure without touching the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let bind = lookup("MERCADO_BIND").unwrap_or_else(|| DEFAULT_BIND.to_string());
        // `/_debug/queries` shows SQL text, so it is on by default only where no one else can reach it.
        let debug_default = is_loopback(&bind);
        Ok(Config {
            database_url: lookup("DATABASE_URL")
                .filter(|url| !url.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string()),
            pool_size: parse(&lookup, "MERCADO_POOL_SIZE", DEFAULT_POOL_SIZE, 1)?,
            pool_timeout: Duration::from_millis(parse(
                &lookup,
                "MERCADO_POOL_TIMEOUT_MS",
                DEFAULT_POOL_TIMEOUT_MS,
                1,
            )?),
            seed_demo: parse_bool(&lookup, "MERCADO_SEED_DEMO", DEFAULT_SEED_DEMO)?,
            n_plus_one_threshold: parse(
                &lookup,
                "MERCADO_N_PLUS_ONE_THRESHOLD",
                DEFAULT_N_PLUS_ONE_THRESHOLD,
                MIN_N_PLUS_ONE_THRESHOLD,
            )?,
            debug_endpoints: parse_bool(&lookup, "MERCADO_DEBUG_ENDPOINTS", debug_default)?,
            api_docs: parse_bool(&lookup, "MERCADO_API_DOCS", DEFAULT_API_DOCS)?,
            // Per-route traffic is an operator's business: on where no one else can reach it; a
            // public deployment turns it on and serves it on an internal address.
            metrics: parse_bool(&lookup, "MERCADO_METRICS", debug_default)?,
            log_format: match lookup("MERCADO_LOG_FORMAT") {
                None => LogFormat::Text,
                Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    _ => {
                        return Err(ConfigError {
                            name: "MERCADO_LOG_FORMAT",
                            value,
                            expected: "expected text or json".to_string(),
                        })
                    }
                },
            },
            bind,
        })
    }
}

/// A whole number of at least `min`.
fn parse<T>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    min: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let Some(value) = lookup(name) else {
        return Ok(default);
    };
    match value.trim().parse::<T>() {
        Ok(parsed) if parsed >= min => Ok(parsed),
        _ => Err(ConfigError {
            name,
            value,
            expected: format!("expected a whole number, {min} or more"),
        }),
    }
}

fn parse_bool(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    let Some(value) = lookup(name) else {
        return Ok(default);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ConfigError {
            name,
            value,
            expected: "expected true or false (also yes/no, on/off, 1/0)".to_string(),
        }),
    }
}

/// True when every address `bind` resolves to is a loopback address.
fn is_loopback(bind: &str) -> bool {
    match bind.to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|addr| addr.ip().is_loopback())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let cfg = config(&[]).unwrap();
        assert_eq!(cfg.database_url, "mercado.db");
        assert_eq!(cfg.bind, "127.0.0.1:8080");
        assert_eq!(cfg.pool_size, 8);
        assert_eq!(cfg.pool_timeout, Duration::from_secs(5));
        assert!(cfg.seed_demo);
        assert_eq!(cfg.n_plus_one_threshold, 10);
        assert!(cfg.api_docs, "the spec and the docs UI are on by default");
        assert!(
            cfg.metrics,
            "metrics are on by default on a loopback address"
        );
        assert_eq!(cfg.log_format, LogFormat::Text);
        assert!(!config(&[("MERCADO_BIND", "0.0.0.0:8080")]).unwrap().metrics);
        assert_eq!(
            config(&[("MERCADO_LOG_FORMAT", "JSON")])
                .unwrap()
                .log_format,
            LogFormat::Json
        );
        assert!(config(&[("MERCADO_LOG_FORMAT", "yaml")]).is_err());
        assert!(
            cfg.debug_endpoints,
            "loopback bind turns debug endpoints on"
        );
    }

    #[test]
    fn debug_endpoints_default_off_on_a_public_address() {
        assert!(
            !config(&[("MERCADO_BIND", "0.0.0.0:8080")])
                .unwrap()
                .debug_endpoints
        );
        let forced = config(&[
            ("MERCADO_BIND", "0.0.0.0:8080"),
            ("MERCADO_DEBUG_ENDPOINTS", "true"),
        ]);
        assert!(forced.unwrap().debug_endpoints);
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let err = config(&[("MERCADO_POOL_SIZE", "lots")]).unwrap_err();
        assert!(err.to_string().starts_with("MERCADO_POOL_SIZE=\"lots\""));
        assert!(config(&[("MERCADO_POOL_SIZE", "0")]).is_err());
        assert!(config(&[("MERCADO_SEED_DEMO", "maybe")]).is_err());
    }

    #[test]
    fn a_bad_value_says_what_would_be_accepted() {
        let threshold = config(&[("MERCADO_N_PLUS_ONE_THRESHOLD", "1")]).unwrap_err();
        assert!(
            threshold
                .to_string()
                .contains(&format!("{MIN_N_PLUS_ONE_THRESHOLD} or more")),
            "{threshold}"
        );
        let boolean = config(&[("MERCADO_DEBUG_ENDPOINTS", "maybe")]).unwrap_err();
        for accepted in ["true", "false", "yes", "no", "on", "off", "1", "0"] {
            assert!(boolean.to_string().contains(accepted), "{boolean}");
        }
        assert!(
            config(&[("MERCADO_DEBUG_ENDPOINTS", "ON")])
                .unwrap()
                .debug_endpoints
        );
    }
}
