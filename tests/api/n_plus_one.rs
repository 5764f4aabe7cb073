//! The N+1 detector and `/_debug/queries`, plus the strict test: no route but the deliberate
//! one may trip the detector.

use diesel::dsl::count_star;
use diesel::prelude::*;
use mercado::app::endpoints;
use mercado::schema::orders;
use serde_json::{json, Value};

use crate::helpers::{body_for, spawn_app_with, TestApp};

both_backends! {
    fn the_detector_flags_the_n_plus_one_dashboard_with_its_most_repeated_statement(app) {
        app.seed(30, 3, 4);

        let res = app.get("/dashboard/n-plus-one?limit=20");

        let body = res.json();
        let n = body["items"].as_array().unwrap().len();
        let o: usize = body["items"].as_array().unwrap().iter().map(|r| r["order_count"].as_u64().unwrap() as usize).sum();
        let header = res.header("x-n-plus-one").expect("the N+1 is flagged");
        let (count, sql) = header.split_once("; ").unwrap();
        assert_eq!(count.parse::<usize>().unwrap(), n.max(o));
        let table = if o >= n { "order_items" } else { "orders" };
        assert!(sql.contains(table), "{sql}");
        for strategy in ["batched", "joined", "aggregate"] {
            let res = app.get(&format!("/dashboard/{strategy}?limit=20"));
            assert_eq!(res.header("x-n-plus-one"), None, "{strategy}");
        }
    }

    fn the_detector_fires_at_the_threshold_and_not_below(app) {
        app.seed(10, 0, 1);

        let nine = app.get("/dashboard/n-plus-one?limit=9");
        let ten = app.get("/dashboard/n-plus-one?limit=10");

        assert_eq!(nine.query_count(), 10);
        assert_eq!(nine.header("x-n-plus-one"), None, "9 repeats stay under the default 10");
        assert!(ten.header("x-n-plus-one").unwrap().starts_with("10; "), "{:?}", ten.header("x-n-plus-one"));
    }

    fn no_route_but_the_n_plus_one_dashboard_trips_the_detector(app) {
        no_route_trips_the_detector(app);
    }

    fn debug_queries_lists_recent_requests_newest_first_with_grouped_statements(app) {
        app.seed(12, 2, 8);
        app.get("/health");
        let dashboard = app.get("/dashboard/n-plus-one?limit=5");
        app.get("/customers?email=secret.person@example.com");

        let res = app.get("/_debug/queries");

        assert_eq!(res.status, 200);
        let items = res.json()["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 3, "its own requests are not listed");
        assert_eq!(items[0]["path"], "/customers");
        assert_eq!(items[1]["path"], "/dashboard/n-plus-one");
        assert_eq!(items[2]["path"], "/health");
        let entry = &items[1];
        assert_eq!(entry["method"], "GET");
        assert_eq!(entry["status"], 200);
        assert_eq!(entry["query_count"], dashboard.query_count());
        assert!(entry["duration_ms"].as_f64().unwrap() >= 0.0);
        let statements = entry["statements"].as_array().unwrap();
        assert_eq!(statements.len(), 3, "customers, orders, items: three texts");
        let total: u64 = statements.iter().map(|s| s["count"].as_u64().unwrap()).sum();
        assert_eq!(total as usize, dashboard.query_count());
        assert_eq!(statements[0]["count"], 1);
        assert!(statements.iter().all(|s| s["sql"].is_string() && s["total_ms"].is_number()));
        assert!(!res.body.contains("secret.person"), "bind values never appear");
    }

    fn every_response_carries_its_own_request_id_which_the_debug_record_uses(app) {
        let first = app.get("/health");
        let second = app.get("/customers/999999");
        let missing = app.get("/nope");

        let ids: Vec<&str> = [&first, &second, &missing]
            .iter()
            .map(|res| res.header("x-request-id").expect("an X-Request-Id"))
            .collect();
        assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2], "{ids:?}");
        let items = app.get("/_debug/queries").json()["items"].as_array().unwrap().clone();
        assert_eq!(items[0]["id"], ids[2]);
        assert_eq!(items[1]["id"], ids[1]);
        assert_eq!(items[2]["id"], ids[0]);
    }

    fn a_request_s_record_has_every_statement_in_order_and_the_detector_s_verdict(app) {
        app.seed(30, 3, 4);
        let staircase = app.get("/dashboard/n-plus-one?limit=10");
        let flat = app.get("/dashboard/batched?limit=10");

        let record = app.get(&format!("/_debug/queries/{}", staircase.header("x-request-id").unwrap()));
        let batched = app.get(&format!("/_debug/queries/{}", flat.header("x-request-id").unwrap())).json();

        assert_eq!(record.status, 200);
        let record = record.json();
        let timeline = record["timeline"].as_array().unwrap();
        assert_eq!(timeline.len(), staircase.query_count(), "one entry per statement");
        assert_eq!(record["query_count"], staircase.query_count());
        assert_eq!(record["kept_statements"], staircase.query_count());
        assert_eq!(record["truncated"], false);
        let offsets: Vec<f64> = timeline.iter().map(|s| s["offset_ms"].as_f64().unwrap()).collect();
        assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "in the order they ran: {offsets:?}");
        assert!(timeline.iter().all(|s| s["duration_ms"].as_f64().unwrap() >= 0.0 && s["failed"] == false));
        // The first statement is the page of customers; then the per-customer query.
        let texts = record["statements"].as_array().unwrap();
        assert_eq!(texts.len(), 3);
        assert_eq!(timeline[0]["sql"], texts[0]["sql"]);
        assert_eq!(timeline[1]["sql"], texts[1]["sql"]);
        let runs: u64 = texts.iter().map(|t| t["count"].as_u64().unwrap()).sum();
        assert_eq!(runs as usize, staircase.query_count());
        assert_eq!(texts[1]["count"], 10, "one orders query per customer");
        assert!(texts.iter().all(|t| t["duplicates"] == 0), "each customer and order once");
        let verdict = &record["n_plus_one"];
        assert_eq!(verdict["threshold"], 10);
        assert_eq!(verdict["detected"], staircase.header("x-n-plus-one").is_some());
        if let Some(header) = staircase.header("x-n-plus-one") {
            assert!(header.starts_with(&format!("{}; ", verdict["count"])), "{header}");
        }
        assert_eq!(batched["timeline"].as_array().unwrap().len(), 3);
        assert_eq!(batched["n_plus_one"]["detected"], false);
        assert_eq!(batched["n_plus_one"]["sql"], Value::Null);
    }

    fn an_unknown_request_id_is_a_404(app) {
        app.get("/_debug/queries/not-a-request").assert_problem(404);
    }

    fn debug_queries_keeps_only_the_last_fifty(app) {
        for _ in 0..60 {
            app.get("/health");
        }
        app.get("/nope");

        let items = app.get("/_debug/queries").json()["items"].as_array().unwrap().clone();

        assert_eq!(items.len(), 50);
        assert_eq!(items[0]["path"], "/nope");
        assert_eq!(items[0]["status"], 404);
        assert_eq!(items[0]["statements"], json!([]));
    }
}

#[test]
fn debug_queries_is_a_404_when_turned_off() {
    for backend in [
        mercado::db::Backend::Sqlite,
        mercado::db::Backend::Postgresql,
    ] {
        let Some(app) = spawn_app_with(backend, |config| config.debug_endpoints = false) else {
            continue;
        };
        let id = app
            .get("/health")
            .header("x-request-id")
            .unwrap()
            .to_string();
        app.get("/_debug/queries").assert_problem(404);
        app.get(&format!("/_debug/queries/{id}"))
            .assert_problem(404);
    }
}

#[test]
fn a_lower_threshold_is_honoured() {
    let Some(app) = spawn_app_with(mercado::db::Backend::Sqlite, |c| c.n_plus_one_threshold = 3)
    else {
        return;
    };
    app.seed(3, 0, 1);
    let res = app.get("/dashboard/n-plus-one?limit=3");
    assert!(res.header("x-n-plus-one").unwrap().starts_with("3; "));
}

struct Ids {
    customer: i64,
    category: i64,
    product: i64,
    order: i64,
}

fn no_route_trips_the_detector(app: &TestApp) {
    // Enough data that a per-row query anywhere would repeat well past the threshold.
    app.seed(120, 5, 21);
    let (customer, _) = orders::table
        .group_by(orders::customer_id)
        .select((orders::customer_id, count_star()))
        .order(count_star().desc())
        .first::<(i64, i64)>(&mut *app.conn())
        .unwrap();
    let ids = Ids {
        customer,
        category: 1,
        product: 1,
        order: 1,
    };
    let settings = crate::helpers::every_route_on();

    let mut table: Vec<(String, String)> = endpoints(&settings)
        .iter()
        .map(|e| (e.method.to_string(), e.path.to_string()))
        .collect();
    // DELETEs last, so every other route sees the full data set.
    table.sort_by_key(|(method, _)| method == "DELETE");

    let mut checked = 0;
    for (method, pattern) in &table {
        let paths: Vec<String> = if pattern.contains("{strategy}") {
            ["n-plus-one", "batched", "joined", "aggregate"]
                .iter()
                .map(|s| pattern.replace("{strategy}", s))
                .collect()
        } else {
            let id = match pattern.split('/').nth(1) {
                Some("customers") => ids.customer,
                Some("categories") => ids.category,
                Some("products") => ids.product,
                _ => ids.order,
            };
            vec![pattern.replace("{id}", &id.to_string())]
        };
        for path in paths {
            let res = match body_for(method, pattern, 0, ids.customer) {
                Some(body) => app.send_json(method, &path, body),
                None => app.send(method, &path, None, None),
            };
            assert!(
                res.status < 500,
                "{method} {path}: {} {}",
                res.status,
                res.body
            );
            let flagged = res.header("x-n-plus-one");
            // The explain endpoint runs the strategy it explains, so explaining the deliberate
            // N+1 is the deliberate N+1 again, and is caught as such.
            if path == "/dashboard/n-plus-one" || path == "/_debug/explain/n-plus-one" {
                assert!(flagged.is_some(), "the deliberate N+1 must be caught");
            } else {
                assert_eq!(flagged, None, "{method} {path} ran one statement per row");
            }
            checked += 1;
        }
    }
    assert!(checked >= 28, "checked {checked} requests");
}

/// `mercado demo` seeds an empty database and runs every strategy at every page size.
#[test]
fn mercado_demo_runs_on_both_backends() {
    for backend in [
        mercado::db::Backend::Sqlite,
        mercado::db::Backend::Postgresql,
    ] {
        let Some(database) = crate::helpers::TestDatabase::create(backend) else {
            continue;
        };
        let config = crate::helpers::test_config(&database.url);

        mercado::commands::demo(&config).expect("the demo runs");

        let mut conn = database.connect();
        let customers: i64 = mercado::schema::customers::table
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(customers, 1_000, "{backend:?}: the demo shop was loaded");
    }
}

/// A query that fails while `mercado demo` measures is reported as what it is, a database
/// error naming the cause, not as a failed seed.
#[test]
fn mercado_demo_reports_a_failing_query_as_a_database_error() {
    use diesel::connection::SimpleConnection;
    for backend in [
        mercado::db::Backend::Sqlite,
        mercado::db::Backend::Postgresql,
    ] {
        let Some(database) = crate::helpers::TestDatabase::create(backend) else {
            continue;
        };
        let mut conn = database.connect();
        mercado::seed::seed_demo_if_empty(&mut conn).unwrap();
        // The shop has customers, so the demo goes straight to measuring, and the first
        // strategy's per-order query finds no table.
        conn.batch_execute("DROP TABLE order_items").unwrap();
        drop(conn);

        let err = mercado::commands::demo(&crate::helpers::test_config(&database.url))
            .expect_err("the demo cannot read the items");

        let message = err.to_string();
        assert!(
            message.starts_with("database error:") && message.contains("order_items"),
            "{backend:?}: {message}"
        );
    }
}
