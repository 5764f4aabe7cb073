//! `GET /metrics`: the Prometheus series after known requests, on both backends; and the
//! JSON log lines that carry the same facts.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use mercado::db::Backend;

use crate::helpers::{spawn_app_with, TestApp, TestDatabase};

/// The value of one sample line of the metrics text (`name{labels} value`), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

fn metrics(app: &TestApp) -> String {
    let res = app.get("/metrics");
    assert_eq!(res.status, 200);
    assert!(res
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    res.body
}

both_backends! {
    fn three_batched_requests_are_three_observations_of_three_statements(app) {
        app.seed(30, 3, 2);
        for _ in 0..3 {
            assert_eq!(app.get("/dashboard/batched?limit=10").query_count(), 3);
        }
        let staircase = app.get("/dashboard/n-plus-one?limit=10");
        app.get("/customers/999999");
        app.get("/no/such/route/42");
        app.get("/metrics");

        let text = metrics(app);

        let batched = r#"{method="GET",route="/dashboard/batched""#;
        assert_eq!(sample(&text, &format!("mercado_http_request_statements_bucket{batched},le=\"2\"}}")), Some(0.0));
        assert_eq!(sample(&text, &format!("mercado_http_request_statements_bucket{batched},le=\"3\"}}")), Some(3.0));
        assert_eq!(sample(&text, &format!("mercado_http_request_statements_count{batched}}}")), Some(3.0));
        assert_eq!(sample(&text, &format!("mercado_http_request_statements_sum{batched}}}")), Some(9.0));
        assert_eq!(
            sample(&text, r#"mercado_http_requests_total{method="GET",route="/dashboard/batched",status="2xx"}"#),
            Some(3.0)
        );
        let staircase_sum = sample(
            &text,
            r#"mercado_http_request_statements_sum{method="GET",route="/dashboard/n-plus-one"}"#,
        );
        assert_eq!(staircase_sum, Some(staircase.query_count() as f64));
        // The detector fired for the N+1 only.
        assert_eq!(sample(&text, r#"mercado_n_plus_one_detections_total{route="/dashboard/n-plus-one"}"#), Some(1.0));
        assert!(!text.contains(r#"mercado_n_plus_one_detections_total{route="/dashboard/batched"}"#));
        // Patterns, never raw paths; one label for everything unmatched; /metrics not counted.
        assert_eq!(
            sample(&text, r#"mercado_http_requests_total{method="GET",route="/customers/{id}",status="4xx"}"#),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, r#"mercado_http_requests_total{method="GET",route="unmatched",status="4xx"}"#),
            Some(1.0)
        );
        assert!(!text.contains("/customers/999999") && !text.contains("/no/such"), "{text}");
        assert!(!text.contains(r#"route="/metrics""#), "{text}");
        let backend = match app.backend { Backend::Sqlite => "sqlite", Backend::Postgresql => "postgresql" };
        assert!(text.contains(&format!(r#"mercado_build_info{{version="{}",backend="{backend}"}} 1"#, env!("CARGO_PKG_VERSION"))), "{text}");
        assert!(sample(&text, "mercado_db_pool_connections").unwrap() >= 1.0);
        assert!(text.contains("mercado_http_request_db_seconds_bucket{route=\"/dashboard/batched\""));
    }
}

/// A checkout that gives up is counted, and so is the wait.
#[test]
fn a_checkout_that_times_out_is_counted() {
    for backend in [Backend::Sqlite, Backend::Postgresql] {
        let Some(app) = spawn_app_with(backend, |config| {
            config.pool_size = 1;
            config.pool_timeout = Duration::from_millis(100);
        }) else {
            continue;
        };
        let held = app.conn();
        let res = app.get("/customers/1");
        drop(held);

        assert_eq!(res.status, 503);
        let text = metrics(&app);
        assert_eq!(
            sample(&text, "mercado_db_pool_checkouts_timed_out_total"),
            Some(1.0)
        );
        assert!(sample(&text, "mercado_db_pool_wait_seconds_count").unwrap() >= 1.0);
    }
}

#[test]
fn metrics_off_is_a_404() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| config.metrics = false) else {
        return;
    };
    app.get("/metrics").assert_problem(404);
}

/// `MERCADO_LOG_FORMAT=json`: one JSON object per line, the access line with the route, the
/// statements, the time in the database and the request id the response carries.
#[test]
fn json_logs_carry_the_request_s_facts() {
    let database = TestDatabase::create(Backend::Sqlite).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_mercado"))
        .env("DATABASE_URL", &database.url)
        .env("MERCADO_BIND", format!("127.0.0.1:{port}"))
        .env("MERCADO_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,mercado::sql=debug")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mercado");
    let url = format!("http://127.0.0.1:{port}/dashboard/batched?limit=5");
    let response = (0..100).find_map(|_| {
        std::thread::sleep(Duration::from_millis(100));
        ureq::get(&url).call().ok()
    });
    // Stopped as a service manager stops it (SIGTERM): log lines are written in batches, and a
    // normal exit writes what is still buffered, so every line of the request must be there.
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let response = response.expect("the server answered");
    let id = response
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let stderr = server.stderr.take().unwrap();
    let lines: Vec<serde_json::Value> = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .map(|line| serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let _ = server.wait();

    let access = lines
        .iter()
        .find(|l| l["target"] == "mercado::http" && l["request_id"] == id)
        .expect("an access line for the request");
    assert_eq!(access["route"], "/dashboard/batched");
    assert_eq!(access["path"], "/dashboard/batched");
    assert_eq!(access["status"], 200);
    assert_eq!(access["statements"], 3);
    assert!(access["db_ms"].is_string() || access["db_ms"].is_number());
    let sql = lines
        .iter()
        .filter(|l| l["target"] == "mercado::sql" && l["request_id"] == id)
        .count();
    assert_eq!(sql, 3, "every SQL line names the request");
}
