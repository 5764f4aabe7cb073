//! `GET /lab`: the N+1 lab as a page. It runs a dashboard strategy, fetches that request's
//! record from `/_debug/queries/{id}`, and draws every statement as a waterfall beside the
//! Rust function that sent them.
//!
//! The page is plain HTML, CSS and JavaScript in `web/`, compiled into the binary with
//! `include_str!`: no build step, no CDN, nothing fetched from the internet, so
//! `cargo run --release` is still the whole set-up. The Rust shown on the page is
//! `src/dashboard.rs` itself, also taken at compile time, so the code panel cannot drift from
//! the code that ran.
//!
//! Gated with the debug endpoints (`MERCADO_DEBUG_ENDPOINTS`): it shows SQL text.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::dashboard::Strategy;
use crate::error::ApiError;

/// The page and its files: name, content type, content.
const FILES: &[(&str, &str, &str)] = &[
    (
        "lab.css",
        "text/css; charset=utf-8",
        include_str!("../../web/lab.css"),
    ),
    (
        "lab.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/lab.js"),
    ),
    (
        "waterfall.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/waterfall.js"),
    ),
    (
        "compare.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/compare.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/dom.js"),
    ),
];

const PAGE: &str = include_str!("../../web/lab.html");
const DASHBOARD_RS: &str = include_str!("../dashboard.rs");
const AGGREGATE_SQL: &str = include_str!("../reports/dashboard_aggregate.sql");

/// Registers `/lab`, `/lab/` and `/lab/{file}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/lab", web::get().to(page))
        .route("/lab/", web::get().to(page))
        .route("/lab/sources.json", web::get().to(sources))
        .route("/lab/{file}", web::get().to(file));
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // The page is the service's own: no inline script, nothing from elsewhere.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'",
        ))
        .body(PAGE)
}

async fn file(name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (_, content_type, body) = FILES
        .iter()
        .find(|(file, _, _)| *file == name.as_str())
        .ok_or_else(|| ApiError::NotFound(format!("the lab has no file {name:?}")))?;
    Ok(HttpResponse::Ok().content_type(*content_type).body(*body))
}

/// `{"n-plus-one": "/// DELIBERATELY BAD...\npub fn n_plus_one(...) {...}", ...}`: each
/// strategy's function, doc comment included, cut out of `src/dashboard.rs`.
async fn sources() -> HttpResponse {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        let by_name: BTreeMap<&str, String> = Strategy::ALL
            .into_iter()
            .map(|strategy| (strategy.name(), strategy_source(strategy)))
            .collect();
        serde_json::to_string(&by_name).unwrap_or_else(|_| "{}".to_string())
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(JSON.as_str())
}

/// The strategy's function in `src/dashboard.rs`, from the first line of its doc comment to
/// its closing brace, then the statement builders it calls; for `aggregate`, also the SQL file
/// it runs.
fn strategy_source(strategy: Strategy) -> String {
    let functions: &[&str] = match strategy {
        Strategy::NPlusOne => &[
            "n_plus_one",
            "customer_page",
            "orders_of_customer",
            "items_of_order",
        ],
        Strategy::Batched => &["batched", "customer_page", "orders_of", "items_of"],
        Strategy::Joined => &["joined", "customers_with_orders_and_items"],
        Strategy::Aggregate => &["aggregate", "dashboard_in_sql"],
    };
    let mut source: Vec<String> = functions
        .iter()
        .map(|name| function_source(DASHBOARD_RS, name))
        .collect();
    if strategy == Strategy::Aggregate {
        source.push(format!(
            "-- src/reports/dashboard_aggregate.sql\n{}",
            AGGREGATE_SQL.trim_end()
        ));
    }
    source.join("\n\n")
}

/// Cuts `pub fn {name}(` out of `source`: the `///` lines just above it, and every line down
/// to the first that is a lone `}` (the functions of `dashboard.rs` are top-level, so that is
/// theirs).
fn function_source(source: &str, name: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let signature = format!("pub fn {name}(");
    let Some(start) = lines.iter().position(|line| line.starts_with(&signature)) else {
        return format!("// pub fn {name} was not found in src/dashboard.rs");
    };
    let docs = lines[..start]
        .iter()
        .rev()
        .take_while(|line| line.starts_with("///"))
        .count();
    let end = lines[start..]
        .iter()
        .position(|line| *line == "}")
        .map_or(lines.len(), |offset| start + offset + 1);
    lines[start - docs..end].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_strategy_s_function_is_cut_out_whole() {
        for strategy in Strategy::ALL {
            let source = strategy_source(strategy);
            assert!(source.starts_with("///"), "{source}");
            assert!(source.contains("pub fn "), "{source}");
            assert!(!source.contains("was not found"), "{source}");
        }
        let n_plus_one = strategy_source(Strategy::NPlusOne);
        assert!(n_plus_one.contains("DELIBERATELY BAD"));
        assert!(n_plus_one.contains("for customer in &customers"));
        assert!(n_plus_one.trim_end().ends_with('}'));
        assert!(
            !n_plus_one.contains("pub fn batched("),
            "stops at its own brace"
        );
        assert!(strategy_source(Strategy::Aggregate).contains("GROUP BY"));
    }

    #[test]
    fn every_file_the_page_names_is_served() {
        for (name, _, _) in FILES {
            assert!(
                PAGE.contains(name) || FILES.iter().any(|(_, _, body)| body.contains(name)),
                "{name} is served but nothing loads it"
            );
        }
    }
}
