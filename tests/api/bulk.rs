//! The set-based endpoints: `POST /customers/bulk` and `POST /orders/bulk-status`.

use diesel::prelude::*;
use mercado::db::{self, Backend};
use mercado::schema::orders;
use serde_json::{json, Value};

use crate::helpers::Shop;

fn customers(n: usize, prefix: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"first_name": "Bulk", "last_name": format!("Row{i}"), "email": format!("{prefix}{i}@example.com")}))
        .collect()
}

both_backends! {
    fn a_bulk_insert_stores_every_customer_normalised(app) {
        let mut batch = customers(3, "bulk");
        batch[1]["email"] = json!("  MiXeD@Example.com ");
        batch[2]["first_name"] = json!("  Trim  ");

        let res = app.post("/customers/bulk", json!(batch));

        assert_eq!(res.status, 201, "{}", res.body);
        assert_eq!(res.json(), json!({"inserted": 3}));
        let stored = app.get("/customers").json();
        assert_eq!(stored["items"][1]["email"], "mixed@example.com");
        assert_eq!(stored["items"][2]["first_name"], "Trim");
        assert_eq!(res.query_count(), 2, "one taken-email check, one multi-row INSERT");
    }

    fn every_bad_element_is_reported_and_nothing_is_inserted(app) {
        let mut batch = customers(20, "bad");
        batch[3]["email"] = json!("nope");
        batch[17]["email"] = json!("also@nope");
        batch[17]["first_name"] = json!("");

        let res = app.post("/customers/bulk", json!(batch));

        res.assert_problem(422);
        assert_eq!(res.error_fields(), vec!["[3].email", "[17].first_name", "[17].email"]);
        assert_eq!(app.count("customers"), 0);
    }

    fn emails_repeated_in_the_batch_are_a_conflict_naming_them(app) {
        let mut batch = customers(5, "rep");
        batch[3]["email"] = json!("REP0@example.com");

        let res = app.post("/customers/bulk", json!(batch));

        let problem = res.assert_problem(409);
        assert_eq!(problem["errors"], json!([{"field": "[3].email", "message": "repeats [0].email"}]));
        assert_eq!(app.count("customers"), 0);
    }

    fn emails_already_taken_are_a_conflict_naming_them(app) {
        app.create_customer("Taken", "One", "taken2@example.com");
        let batch = customers(5, "taken");

        let res = app.post("/customers/bulk", json!(batch));

        let problem = res.assert_problem(409);
        assert_eq!(problem["errors"], json!([{"field": "[2].email", "message": "is already taken"}]));
        assert_eq!(app.count("customers"), 1, "all or nothing");
    }

    fn an_empty_or_oversized_batch_is_422_and_a_non_array_400(app) {
        app.post("/customers/bulk", json!([])).assert_problem(422);
        app.post("/customers/bulk", json!(customers(10_001, "big"))).assert_problem(422);
        app.post("/customers/bulk", json!({"first_name": "A"})).assert_problem(400);
        app.post("/customers/bulk", json!([{"first_name": "A", "last_name": "B"}])).assert_problem(400);
        app.send("GET", "/customers/bulk", None, None).assert_problem(405);
        let huge = vec![b' '; 8 * 1024 * 1024 + 1];
        app.send("POST", "/customers/bulk", Some("application/json"), Some(huge)).assert_problem(413);
        assert_eq!(app.count("customers"), 0);
    }

    fn ten_thousand_customers_go_in_as_few_statements_as_the_bind_limit_allows(app) {
        let batch = customers(10_000, "many");

        let res = app.post("/customers/bulk", json!(batch));

        assert_eq!(res.status, 201, "{}", res.body);
        assert_eq!(res.json(), json!({"inserted": 10_000}));
        assert_eq!(app.count("customers"), 10_000);
        // 4 bound columns per row: SQLite's 32,766 limit forces two INSERTs, PostgreSQL's 65,535 one.
        let inserts = 10_000usize.div_ceil(db::max_binds(app.backend) / 4);
        assert_eq!(inserts, if app.backend == Backend::Sqlite { 2 } else { 1 });
        assert_eq!(res.query_count(), 1 + inserts);
        // And the ids the API hands out next do not collide.
        app.create_customer("After", "Bulk", "after@example.com");
    }

    fn a_bulk_conflict_late_in_a_large_batch_writes_nothing(app) {
        app.create_customer("Taken", "Late", "late9999@example.com");

        let res = app.post("/customers/bulk", json!(customers(10_000, "late")));

        let problem = res.assert_problem(409);
        assert_eq!(problem["errors"][0]["field"], "[9999].email");
        assert_eq!(app.count("customers"), 1);
    }

    fn bulk_status_moves_every_matching_order_in_one_statement(app) {
        let shop = Shop::build(app);
        for _ in 0..5 {
            app.place_order(shop.customer_id, &[(shop.cable, 1)]);
        }
        let paid = app.place_order(shop.customer_id, &[(shop.cable, 1)]);
        app.patch(&format!("/orders/{}", paid["order_id"]), json!({"status": "paid"}));

        let res = app.post("/orders/bulk-status", json!({"from_status": "pending", "to_status": "cancelled"}));

        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.json(), json!({"updated": 5}));
        assert_eq!(res.query_count(), 1, "one set-based UPDATE");
        assert_eq!(app.get("/orders?status=cancelled").json()["items"].as_array().unwrap().len(), 5);
        assert_eq!(app.get(&format!("/orders/{}", paid["order_id"])).json()["status"], "paid");
        let again = app.post("/orders/bulk-status", json!({"from_status": "pending", "to_status": "cancelled"}));
        assert_eq!(again.json(), json!({"updated": 0}));
    }

    fn bulk_status_honours_placed_before(app) {
        let shop = Shop::build(app);
        let ids: Vec<i64> = (0..4)
            .map(|_| app.place_order(shop.customer_id, &[(shop.cable, 1)])["order_id"].as_i64().unwrap())
            .collect();
        // Backdate two orders to 2024.
        let old = chrono::NaiveDate::from_ymd_opt(2024, 5, 1).unwrap().and_hms_opt(12, 0, 0).unwrap();
        diesel::update(orders::table.filter(orders::order_id.eq_any(&ids[..2])))
            .set(orders::placed_at.eq(old))
            .execute(&mut *app.conn())
            .unwrap();

        let res = app.post(
            "/orders/bulk-status",
            json!({"from_status": "pending", "to_status": "paid", "placed_before": "2025-01-01T02:00:00+02:00"}),
        );

        assert_eq!(res.json(), json!({"updated": 2}));
        assert_eq!(res.query_count(), 1);
        let statuses: Vec<Value> = ids.iter().map(|id| app.get(&format!("/orders/{id}")).json()["status"].clone()).collect();
        assert_eq!(statuses, vec![json!("paid"), json!("paid"), json!("pending"), json!("pending")]);
    }

    fn bulk_status_refuses_forbidden_moves_and_bad_input(app) {
        let shop = Shop::build(app);
        app.place_order(shop.customer_id, &[(shop.cable, 1)]);

        for (from, to) in [("pending", "shipped"), ("delivered", "pending"), ("paid", "paid"), ("cancelled", "paid")] {
            let res = app.post("/orders/bulk-status", json!({"from_status": from, "to_status": to}));
            res.assert_problem(409);
            assert_eq!(res.query_count(), 0, "refused before touching the database");
        }
        let res = app.post("/orders/bulk-status", json!({"from_status": "lost", "to_status": "found"}));
        res.assert_problem(422);
        assert_eq!(res.error_fields(), vec!["from_status", "to_status"]);
        let res = app.post("/orders/bulk-status", json!({"from_status": "pending", "to_status": "paid", "placed_before": "yesterday"}));
        assert_eq!(res.error_fields(), vec!["placed_before"]);
        app.post("/orders/bulk-status", json!({"from_status": "pending"})).assert_problem(400);
        app.post("/orders/bulk-status", json!({"from_status": "pending", "to_status": "paid", "force": true})).assert_problem(400);
        assert_eq!(app.get("/orders?status=pending").json()["items"].as_array().unwrap().len(), 1);
    }
}
