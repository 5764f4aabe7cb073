//! `/customers`: CRUD, email rules, keyset pagination, and a customer's orders.

use serde_json::json;

use crate::helpers::Shop;

both_backends! {
    fn creating_a_customer_returns_201_with_location_and_stored_values(app) {
        let res = app.post(
            "/customers",
            json!({"first_name": "  Alice ", "last_name": "Nguyen", "email": " Alice.Nguyen@Example.COM"}),
        );

        assert_eq!(res.status, 201, "{}", res.body);
        let body = res.json();
        let id = body["customer_id"].as_i64().unwrap();
        assert_eq!(res.header("location"), Some(format!("/customers/{id}").as_str()));
        assert_eq!(body["first_name"], "Alice", "names are stored trimmed");
        assert_eq!(body["email"], "alice.nguyen@example.com", "emails are stored lower-cased");
        let created_at = body["created_at"].as_str().unwrap();
        assert!(
            chrono::NaiveDateTime::parse_from_str(created_at, "%Y-%m-%dT%H:%M:%SZ").is_ok(),
            "RFC 3339 to the second in UTC: {created_at}"
        );
        let fetched = app.get(&format!("/customers/{id}"));
        assert_eq!(fetched.status, 200);
        assert_eq!(fetched.json(), body);
    }

    fn a_taken_email_is_a_conflict_whatever_its_case(app) {
        app.create_customer("Alice", "Nguyen", "alice@example.com");

        let res = app.post(
            "/customers",
            json!({"first_name": "Other", "last_name": "Alice", "email": "ALICE@example.com"}),
        );

        let problem = res.assert_problem(409);
        assert!(problem["detail"].as_str().unwrap().contains("email"), "{problem}");
        assert_eq!(app.count("customers"), 1);
    }

    fn every_broken_rule_is_listed_in_one_422(app) {
        let res = app.post(
            "/customers",
            json!({"first_name": "   ", "last_name": "x".repeat(101), "email": "not-an-address"}),
        );

        res.assert_problem(422);
        assert_eq!(res.error_fields(), vec!["first_name", "last_name", "email"]);
        assert_eq!(app.count("customers"), 0);
    }

    fn an_unknown_or_malformed_id_is_404(app) {
        for path in [
            "/customers/999",
            "/customers/0",
            "/customers/-1",
            "/customers/abc",
            "/customers/1.5",
            "/customers/99999999999999999999999",
        ] {
            app.get(path).assert_problem(404);
        }
    }

    fn patch_changes_only_the_given_fields(app) {
        let id = app.create_customer("Alice", "Nguyen", "alice@example.com");
        let before = app.get(&format!("/customers/{id}")).json();

        let res = app.patch(&format!("/customers/{id}"), json!({"last_name": " Nguyen-Smith "}));

        assert_eq!(res.status, 200, "{}", res.body);
        let after = res.json();
        assert_eq!(after["last_name"], "Nguyen-Smith");
        assert_eq!(after["first_name"], before["first_name"]);
        assert_eq!(after["email"], before["email"]);
        assert_eq!(after["created_at"], before["created_at"]);
        assert_eq!(app.get(&format!("/customers/{id}")).json(), after);
    }

    fn an_empty_patch_changes_nothing(app) {
        let id = app.create_customer("Alice", "Nguyen", "alice@example.com");
        let before = app.get(&format!("/customers/{id}")).json();

        let res = app.patch(&format!("/customers/{id}"), json!({}));

        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.json(), before);
    }

    fn patch_refuses_bad_values_taken_emails_and_unknown_ids(app) {
        let id = app.create_customer("Alice", "Nguyen", "alice@example.com");
        app.create_customer("Bob", "Lee", "bob@example.com");
        let path = format!("/customers/{id}");

        app.patch(&path, json!({"email": "nope"})).assert_problem(422);
        app.patch(&path, json!({"first_name": ""})).assert_problem(422);
        app.patch(&path, json!({"first_name": null})).assert_problem(400);
        app.patch(&path, json!({"nickname": "Al"})).assert_problem(400);
        app.patch(&path, json!({"email": "BOB@example.com"})).assert_problem(409);
        app.patch("/customers/999", json!({"first_name": "X"})).assert_problem(404);

        let unchanged = app.get(&path).json();
        assert_eq!(unchanged["email"], "alice@example.com");
        assert_eq!(unchanged["first_name"], "Alice");
    }

    fn deleting_a_customer_returns_204_then_404(app) {
        let id = app.create_customer("Alice", "Nguyen", "alice@example.com");

        let res = app.delete(&format!("/customers/{id}"));

        assert_eq!(res.status, 204);
        assert!(res.body.is_empty());
        app.get(&format!("/customers/{id}")).assert_problem(404);
        app.delete(&format!("/customers/{id}")).assert_problem(404);
    }

    fn deleting_a_customer_with_orders_is_a_conflict(app) {
        let shop = Shop::build(app);
        app.place_order(shop.customer_id, &[(shop.cable, 1)]);

        let res = app.delete(&format!("/customers/{}", shop.customer_id));

        res.assert_problem(409);
        assert_eq!(app.get(&format!("/customers/{}", shop.customer_id)).status, 200);
    }

    fn the_email_filter_is_exact_and_case_insensitive(app) {
        app.create_customer("Alice", "Nguyen", "alice@example.com");
        let bob = app.create_customer("Bob", "Lee", "bob@example.com");

        let res = app.get("/customers?email=BOB@Example.com");

        assert_eq!(res.status, 200);
        let body = res.json();
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["customer_id"], bob);
        assert_eq!(body["next_after"], serde_json::Value::Null);
        assert_eq!(app.get("/customers?email=bob@example").json()["items"], json!([]));
    }

    fn a_pagination_walk_sees_every_customer_exactly_once(app) {
        let mut created: Vec<i64> = (0..23)
            .map(|i| app.create_customer("Walk", &format!("Er{i}"), &format!("walker{i}@example.com")))
            .collect();
        created.sort();

        let mut seen = Vec::new();
        let mut after = 0;
        let mut pages = 0;
        loop {
            let page = app.get(&format!("/customers?limit=5&after={after}")).json();
            pages += 1;
            let items = page["items"].as_array().unwrap();
            seen.extend(items.iter().map(|c| c["customer_id"].as_i64().unwrap()));
            match page["next_after"].as_i64() {
                Some(next) => {
                    assert_eq!(items.len(), 5, "only a full page has a cursor");
                    after = next;
                }
                None => break,
            }
        }

        assert_eq!(seen, created, "every row once, in id order");
        assert_eq!(pages, 5);
    }

    fn a_full_last_page_still_has_a_cursor_and_the_next_page_is_empty(app) {
        for i in 0..4 {
            app.create_customer("Page", "Full", &format!("full{i}@example.com"));
        }

        let first = app.get("/customers?limit=4").json();
        let next = first["next_after"].as_i64().expect("a full page has a cursor");
        let second = app.get(&format!("/customers?limit=4&after={next}")).json();

        assert_eq!(second, json!({"items": [], "next_after": null}));
        assert_eq!(app.get("/customers").json()["items"].as_array().unwrap().len(), 4, "default limit 50");
    }

    fn list_parameters_that_do_not_parse_or_are_out_of_range_are_400(app) {
        for query in ["limit=0", "limit=501", "limit=abc", "after=-1", "after=x", "limit="] {
            app.get(&format!("/customers?{query}")).assert_problem(400);
        }
        assert_eq!(app.get("/customers?limit=500").status, 200);
        assert_eq!(app.get("/customers?limit=1&after=0").status, 200);
    }

    fn a_customers_orders_come_with_items_in_three_statements_however_many(app) {
        let shop = Shop::build(app);
        let other = app.create_customer("Bob", "Lee", "bob@example.com");
        app.place_order(other, &[(shop.cable, 1)]);
        let first = app.place_order(shop.customer_id, &[(shop.cable, 2), (shop.charger, 1)]);
        let second = app.place_order(shop.customer_id, &[(shop.charger, 3)]);

        let res = app.get(&format!("/customers/{}/orders", shop.customer_id));

        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.json(), json!({"items": [first, second]}));
        assert_eq!(res.query_count(), 3, "customer, orders, items");
        for _ in 0..5 {
            app.place_order(shop.customer_id, &[(shop.cable, 1)]);
        }
        let res = app.get(&format!("/customers/{}/orders", shop.customer_id));
        assert_eq!(res.json()["items"].as_array().unwrap().len(), 7);
        assert_eq!(res.query_count(), 3, "still three with seven orders");
    }

    fn a_customer_without_orders_has_an_empty_list_and_an_unknown_one_is_404(app) {
        let id = app.create_customer("Alice", "Nguyen", "alice@example.com");

        let res = app.get(&format!("/customers/{id}/orders"));

        assert_eq!(res.json(), json!({"items": []}));
        assert_eq!(res.query_count(), 2, "customer, orders: no items query for no orders");
        app.get("/customers/999/orders").assert_problem(404);
    }
}
