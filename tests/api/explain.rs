//! `/_debug/explain/{strategy}`: every distinct statement a dashboard strategy sends, with its
//! runs, the rows it returns and its plan, on both backends.

use diesel::prelude::*;
use mercado::db::Backend;
use mercado::schema::order_items;
use serde_json::Value;

use crate::helpers::TestApp;

fn explain(app: &TestApp, strategy: &str, limit: u32) -> Value {
    let res = app.get(&format!("/_debug/explain/{strategy}?limit={limit}"));
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()
}

/// The statements' (runs, rows).
fn runs_and_rows(plans: &Value) -> Vec<(u64, u64)> {
    plans["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["runs"].as_u64().unwrap(), s["rows"].as_u64().unwrap()))
        .collect()
}

fn plan_text(plans: &Value, statement: usize) -> String {
    plans["statements"][statement]["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

both_backends! {
    fn every_strategy_s_statements_come_with_runs_rows_and_a_plan(app) {
        app.seed(2_000, 5, 17);
        let page = app.get("/dashboard/batched?limit=100").json();
        let rows = page["items"].as_array().unwrap();
        let customers = rows.len() as u64;
        let orders: u64 = rows.iter().map(|r| r["order_count"].as_u64().unwrap()).sum();
        let without_orders = rows.iter().filter(|r| r["order_count"] == 0).count() as u64;
        let ids: Vec<i64> = rows.iter().map(|r| r["customer_id"].as_i64().unwrap()).collect();
        let items: i64 = order_items::table
            .inner_join(mercado::schema::orders::table)
            .filter(mercado::schema::orders::customer_id.eq_any(&ids))
            .count()
            .get_result(&mut *app.conn())
            .unwrap();
        let items = items as u64;

        let staircase = explain(app, "n-plus-one", 100);
        let batched = explain(app, "batched", 100);
        let joined = explain(app, "joined", 100);
        let aggregate = explain(app, "aggregate", 100);

        let backend = match app.backend { Backend::Sqlite => "sqlite", Backend::Postgresql => "postgresql" };
        assert_eq!(staircase["backend"], backend);
        assert_eq!(runs_and_rows(&staircase), vec![(1, customers), (customers, orders), (orders, items)]);
        assert_eq!(runs_and_rows(&batched), vec![(1, customers), (1, orders), (1, items)]);
        assert_eq!(runs_and_rows(&joined), vec![(1, items + without_orders)], "joined repeats each customer per item");
        assert_eq!(runs_and_rows(&aggregate), vec![(1, customers)]);
        assert_eq!(staircase["rows"], customers + orders + items);
        // The run counts are the ones the request itself shows.
        let sent = app.get("/dashboard/n-plus-one?limit=100").query_count() as u64;
        assert_eq!(sent, 1 + customers + orders);

        // Each per-row lookup uses the index on its foreign key.
        let orders_plan = plan_text(&staircase, 1);
        assert!(orders_plan.contains("orders_customer_id_idx"), "{orders_plan}");
        let items_plan = plan_text(&staircase, 2);
        assert!(
            items_plan.contains("order_items_order_id_product_id_key")
                || items_plan.contains("sqlite_autoindex_order_items_1"),
            "{items_plan}"
        );
        let joined_plan = plan_text(&joined, 0);
        assert!(joined_plan.contains("orders_customer_id_idx"), "{joined_plan}");
        match app.backend {
            Backend::Sqlite => assert!(orders_plan.starts_with("SEARCH orders"), "{orders_plan}"),
            Backend::Postgresql => {
                assert!(orders_plan.contains("actual time="), "EXPLAIN ANALYZE ran it: {orders_plan}");
                assert!(orders_plan.contains("Buffers:"), "{orders_plan}");
            }
        }
    }

    fn without_the_foreign_key_index_every_per_customer_lookup_scans_orders(app) {
        use diesel::connection::SimpleConnection;
        app.seed(2_000, 5, 17);
        // This test's own throwaway database: the index `belonging_to` relies on, gone.
        app.conn().batch_execute("DROP INDEX orders_customer_id_idx").unwrap();

        let plans = explain(app, "n-plus-one", 100);

        let orders_plan = plan_text(&plans, 1);
        assert!(!orders_plan.contains("orders_customer_id_idx"), "{orders_plan}");
        match app.backend {
            Backend::Sqlite => assert!(orders_plan.starts_with("SCAN orders"), "{orders_plan}"),
            Backend::Postgresql => assert!(orders_plan.contains("Seq Scan on orders"), "{orders_plan}"),
        }
    }

    fn the_explain_request_counts_every_statement_it_ran(app) {
        app.seed(50, 3, 5);

        let res = app.get("/_debug/explain/batched?limit=20");

        // The strategy once (3), each statement loaded for its rows (3), and explained (3).
        assert_eq!(res.query_count(), 9);
    }

    fn an_unknown_strategy_is_a_404_and_an_empty_page_has_one_statement(app) {
        app.get("/_debug/explain/lazy?limit=10").assert_problem(404);
        app.get("/_debug/explain/batched?limit=0").assert_problem(400);

        let empty = explain(app, "batched", 10);

        assert_eq!(runs_and_rows(&empty), vec![(1, 0)]);
    }
}
