//! `/orders`: placement as one transaction, the status machine, and lists whose items load in
//! a fixed number of statements.

use serde_json::json;

use crate::helpers::Shop;

both_backends! {
    fn placing_an_order_copies_prices_and_computes_totals(app) {
        let shop = Shop::build(app);

        let res = app.post(
            "/orders",
            json!({"customer_id": shop.customer_id,
                   "items": [{"product_id": shop.cable, "quantity": 2}, {"product_id": shop.charger, "quantity": 1}]}),
        );

        assert_eq!(res.status, 201, "{}", res.body);
        let order = res.json();
        let id = order["order_id"].as_i64().unwrap();
        assert_eq!(res.header("location"), Some(format!("/orders/{id}").as_str()));
        assert_eq!(order["status"], "pending");
        assert_eq!(order["customer_id"], shop.customer_id);
        let items = order["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["product_id"], shop.cable);
        assert_eq!(items[0]["unit_price_cents"], Shop::CABLE_PRICE);
        assert_eq!(items[0]["line_total_cents"], 2 * Shop::CABLE_PRICE);
        assert_eq!(items[1]["line_total_cents"], Shop::CHARGER_PRICE);
        assert_eq!(order["total_cents"], 2 * Shop::CABLE_PRICE + Shop::CHARGER_PRICE);
        assert!(order["placed_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(app.get(&format!("/orders/{id}")).json(), order);
    }

    fn placing_an_order_runs_four_statements_however_many_lines(app) {
        let shop = Shop::build(app);

        let res = app.post(
            "/orders",
            json!({"customer_id": shop.customer_id,
                   "items": [{"product_id": shop.cable, "quantity": 1}, {"product_id": shop.charger, "quantity": 1}]}),
        );

        assert_eq!(res.status, 201);
        assert_eq!(res.query_count(), 4, "customer, products, order, one multi-row items insert");
        let ten_lines: Vec<(i64, i64)> = (0..10)
            .map(|i| (app.create_product(&format!("X-{i}"), shop.category_id, 10), 1))
            .collect();
        let items: Vec<_> = ten_lines.iter().map(|(p, q)| json!({"product_id": p, "quantity": q})).collect();
        let res = app.post("/orders", json!({"customer_id": shop.customer_id, "items": items}));
        assert_eq!(res.status, 201);
        assert_eq!(res.query_count(), 4, "still four with ten lines");
    }

    fn a_failed_order_leaves_no_order_and_no_items_behind(app) {
        let shop = Shop::build(app);
        let bad_bodies = [
            // an unknown product after a good one: the good line must not survive
            json!({"customer_id": shop.customer_id, "items": [{"product_id": shop.cable, "quantity": 1}, {"product_id": 999, "quantity": 1}]}),
            json!({"customer_id": 999, "items": [{"product_id": shop.cable, "quantity": 1}]}),
            json!({"customer_id": shop.customer_id, "items": []}),
            json!({"customer_id": shop.customer_id, "items": [{"product_id": shop.cable, "quantity": 0}]}),
            json!({"customer_id": shop.customer_id, "items": [{"product_id": shop.cable, "quantity": 1001}]}),
            json!({"customer_id": shop.customer_id, "items": [{"product_id": shop.cable, "quantity": 1}, {"product_id": shop.cable, "quantity": 2}]}),
            json!({"customer_id": shop.customer_id, "items": [{"product_id": -3, "quantity": 1}]}),
        ];

        for body in bad_bodies {
            let res = app.post("/orders", body.clone());
            res.assert_problem(422);
            assert_eq!(app.count("orders"), 0, "after {body}");
            assert_eq!(app.count("order_items"), 0, "after {body}");
        }
    }

    fn a_rejected_order_names_the_offending_fields(app) {
        let shop = Shop::build(app);

        let unknown = app.post(
            "/orders",
            json!({"customer_id": shop.customer_id,
                   "items": [{"product_id": shop.cable, "quantity": 1}, {"product_id": 999, "quantity": 1}]}),
        );
        let twice = app.post(
            "/orders",
            json!({"customer_id": shop.customer_id,
                   "items": [{"product_id": shop.cable, "quantity": 1}, {"product_id": shop.cable, "quantity": 1}]}),
        );
        let customer = app.post("/orders", json!({"customer_id": 999, "items": [{"product_id": shop.cable, "quantity": 1}]}));

        assert_eq!(unknown.error_fields(), vec!["items[1].product_id"]);
        assert_eq!(twice.error_fields(), vec!["items[1].product_id"]);
        assert_eq!(customer.error_fields(), vec!["customer_id"]);
    }

    fn malformed_order_bodies_are_400(app) {
        let shop = Shop::build(app);
        for body in [
            json!({"customer_id": shop.customer_id}),
            json!({"customer_id": "one", "items": []}),
            json!({"customer_id": shop.customer_id, "items": [{"product_id": shop.cable}]}),
            json!({"customer_id": shop.customer_id, "items": [{"product_id": shop.cable, "quantity": 1.5}]}),
            json!({"customer_id": shop.customer_id, "items": [], "status": "paid"}),
        ] {
            app.post("/orders", body).assert_problem(400);
        }
        assert_eq!(app.count("orders"), 0);
    }

    fn a_later_price_change_leaves_placed_orders_alone(app) {
        let shop = Shop::build(app);
        let order = app.place_order(shop.customer_id, &[(shop.cable, 3)]);

        let res = app.patch(&format!("/products/{}", shop.cable), json!({"unit_price_cents": 9999}));

        assert_eq!(res.status, 200);
        let again = app.get(&format!("/orders/{}", order["order_id"])).json();
        assert_eq!(again["items"][0]["unit_price_cents"], Shop::CABLE_PRICE);
        assert_eq!(again["total_cents"], 3 * Shop::CABLE_PRICE);
    }

    fn the_status_machine_allows_only_its_moves(app) {
        let shop = Shop::build(app);
        let id = app.place_order(shop.customer_id, &[(shop.cable, 1)])["order_id"].as_i64().unwrap();
        let path = format!("/orders/{id}");

        app.patch(&path, json!({"status": "pending"})).assert_problem(409);
        app.patch(&path, json!({"status": "shipped"})).assert_problem(409);
        let paid = app.patch(&path, json!({"status": "paid"}));
        assert_eq!(paid.status, 200, "{}", paid.body);
        assert_eq!(paid.json()["status"], "paid");
        assert_eq!(paid.json()["items"].as_array().unwrap().len(), 1);
        app.patch(&path, json!({"status": "paid"})).assert_problem(409);
        assert_eq!(app.patch(&path, json!({"status": "shipped"})).status, 200);
        app.patch(&path, json!({"status": "cancelled"})).assert_problem(409);
        assert_eq!(app.patch(&path, json!({"status": "delivered"})).status, 200);
        for to in ["pending", "paid", "shipped", "cancelled", "delivered"] {
            app.patch(&path, json!({"status": to})).assert_problem(409);
        }
        assert_eq!(app.get(&path).json()["status"], "delivered");
    }

    fn orders_can_be_cancelled_while_pending_or_paid(app) {
        let shop = Shop::build(app);
        let pending = app.place_order(shop.customer_id, &[(shop.cable, 1)])["order_id"].as_i64().unwrap();
        let paid = app.place_order(shop.customer_id, &[(shop.cable, 1)])["order_id"].as_i64().unwrap();
        app.patch(&format!("/orders/{paid}"), json!({"status": "paid"}));

        assert_eq!(app.patch(&format!("/orders/{pending}"), json!({"status": "cancelled"})).status, 200);
        assert_eq!(app.patch(&format!("/orders/{paid}"), json!({"status": "cancelled"})).status, 200);
        app.patch(&format!("/orders/{paid}"), json!({"status": "paid"})).assert_problem(409);
    }

    fn an_unknown_status_is_422_and_an_unknown_order_404(app) {
        let shop = Shop::build(app);
        let id = app.place_order(shop.customer_id, &[(shop.cable, 1)])["order_id"].as_i64().unwrap();

        let res = app.patch(&format!("/orders/{id}"), json!({"status": "lost"}));

        res.assert_problem(422);
        assert_eq!(res.error_fields(), vec!["status"]);
        app.patch("/orders/999", json!({"status": "paid"})).assert_problem(404);
        app.patch(&format!("/orders/{id}"), json!({"status": 3})).assert_problem(400);
        app.get("/orders/999").assert_problem(404);
    }

    fn deleting_an_order_takes_its_items_with_it(app) {
        let shop = Shop::build(app);
        let keep = app.place_order(shop.customer_id, &[(shop.cable, 1)]);
        let gone = app.place_order(shop.customer_id, &[(shop.cable, 1), (shop.charger, 2)]);

        let res = app.delete(&format!("/orders/{}", gone["order_id"]));

        assert_eq!(res.status, 204);
        app.get(&format!("/orders/{}", gone["order_id"])).assert_problem(404);
        assert_eq!(app.count("order_items"), 1);
        assert_eq!(app.get(&format!("/orders/{}", keep["order_id"])).json(), keep);
        app.delete(&format!("/orders/{}", gone["order_id"])).assert_problem(404);
    }

    fn a_page_of_orders_costs_two_statements_whatever_its_size(app) {
        let shop = Shop::build(app);
        let mut placed = Vec::new();
        for quantity in 1..=12 {
            placed.push(app.place_order(shop.customer_id, &[(shop.cable, quantity), (shop.charger, 1)]));
        }

        let small = app.get("/orders?limit=3");
        let large = app.get("/orders?limit=50");

        assert_eq!(small.query_count(), 2, "orders, then every item of the page");
        assert_eq!(large.query_count(), 2);
        assert_eq!(large.json()["items"], json!(placed));
        assert_eq!(small.json()["items"], json!(placed[..3]));
        assert_eq!(small.json()["next_after"], placed[2]["order_id"]);
    }

    fn an_empty_page_of_orders_costs_one_statement(app) {
        let res = app.get("/orders");

        assert_eq!(res.json(), json!({"items": [], "next_after": null}));
        assert_eq!(res.query_count(), 1);
    }

    fn orders_filter_by_customer_and_status(app) {
        let shop = Shop::build(app);
        let bob = app.create_customer("Bob", "Lee", "bob@example.com");
        let alices = app.place_order(shop.customer_id, &[(shop.cable, 1)]);
        let bobs_paid = app.place_order(bob, &[(shop.cable, 1)]);
        app.place_order(bob, &[(shop.charger, 1)]);
        app.patch(&format!("/orders/{}", bobs_paid["order_id"]), json!({"status": "paid"}));

        let by_customer = app.get(&format!("/orders?customer_id={}", shop.customer_id)).json();
        let paid = app.get("/orders?status=paid").json();
        let bobs_pending = app.get(&format!("/orders?customer_id={bob}&status=pending")).json();

        assert_eq!(by_customer["items"], json!([alices]));
        assert_eq!(paid["items"].as_array().unwrap().len(), 1);
        assert_eq!(paid["items"][0]["order_id"], bobs_paid["order_id"]);
        assert_eq!(bobs_pending["items"].as_array().unwrap().len(), 1);
        app.get("/orders?status=lost").assert_problem(400);
        app.get("/orders?customer_id=abc").assert_problem(400);
    }
}
