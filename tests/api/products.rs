//! `/products`: CRUD with a unique sku and a category that must exist.

use serde_json::json;

use crate::helpers::Shop;

both_backends! {
    fn creating_a_product_returns_it_with_location(app) {
        let category = app.create_category("Electronics", None);

        let res = app.post(
            "/products",
            json!({"sku": " EL-0001 ", "name": "USB-C cable", "category_id": category, "unit_price_cents": 1299}),
        );

        assert_eq!(res.status, 201, "{}", res.body);
        let product = res.json();
        let id = product["product_id"].as_i64().unwrap();
        assert_eq!(res.header("location"), Some(format!("/products/{id}").as_str()));
        assert_eq!(
            product,
            json!({"product_id": id, "sku": "EL-0001", "name": "USB-C cable", "category_id": category, "unit_price_cents": 1299})
        );
        assert_eq!(app.get(&format!("/products/{id}")).json(), product);
    }

    fn a_taken_sku_is_a_conflict(app) {
        let category = app.create_category("Electronics", None);
        app.create_product("EL-0001", category, 100);

        let res = app.post(
            "/products",
            json!({"sku": "EL-0001", "name": "Another", "category_id": category, "unit_price_cents": 5}),
        );

        let problem = res.assert_problem(409);
        assert!(problem["detail"].as_str().unwrap().contains("sku"), "{problem}");
        assert_eq!(app.count("products"), 1);
    }

    fn broken_rules_and_unknown_categories_are_422(app) {
        let category = app.create_category("Electronics", None);
        let cases = [
            (json!({"sku": "A", "name": "x", "category_id": category, "unit_price_cents": -1}), "unit_price_cents"),
            (json!({"sku": "A", "name": "x", "category_id": category, "unit_price_cents": 100_000_001}), "unit_price_cents"),
            (json!({"sku": "", "name": "x", "category_id": category, "unit_price_cents": 1}), "sku"),
            (json!({"sku": "x".repeat(65), "name": "x", "category_id": category, "unit_price_cents": 1}), "sku"),
            (json!({"sku": "A", "name": "x".repeat(201), "category_id": category, "unit_price_cents": 1}), "name"),
            (json!({"sku": "A", "name": "x", "category_id": 999, "unit_price_cents": 1}), "category_id"),
            (json!({"sku": "A", "name": "x", "category_id": 0, "unit_price_cents": 1}), "category_id"),
        ];

        for (body, field) in cases {
            let res = app.post("/products", body.clone());
            res.assert_problem(422);
            assert_eq!(res.error_fields(), vec![field], "for {body}");
        }
        assert_eq!(app.count("products"), 0);
        let edge = app.post("/products", json!({"sku": "B", "name": "y", "category_id": category, "unit_price_cents": 100_000_000}));
        assert_eq!(edge.status, 201, "the upper bound is allowed");
    }

    fn patching_a_product_changes_only_the_given_fields(app) {
        let shop = Shop::build(app);
        let other = app.create_category("Cables", Some(shop.category_id));
        let path = format!("/products/{}", shop.cable);
        let before = app.get(&path).json();

        let res = app.patch(&path, json!({"category_id": other, "name": "Braided cable"}));

        assert_eq!(res.status, 200, "{}", res.body);
        let after = res.json();
        assert_eq!(after["category_id"], other);
        assert_eq!(after["name"], "Braided cable");
        assert_eq!(after["sku"], before["sku"]);
        assert_eq!(after["unit_price_cents"], before["unit_price_cents"]);
        app.patch(&path, json!({"category_id": 999})).assert_problem(422);
        app.patch(&path, json!({"sku": "EL-0002"})).assert_problem(409);
        app.patch(&path, json!({"unit_price_cents": -5})).assert_problem(422);
        app.patch("/products/999", json!({"name": "x"})).assert_problem(404);
        assert_eq!(app.get(&path).json(), after);
    }

    fn deleting_a_product_on_an_order_is_a_conflict(app) {
        let shop = Shop::build(app);
        app.place_order(shop.customer_id, &[(shop.cable, 1)]);

        app.delete(&format!("/products/{}", shop.cable)).assert_problem(409);
        assert_eq!(app.delete(&format!("/products/{}", shop.charger)).status, 204);
        app.get(&format!("/products/{}", shop.charger)).assert_problem(404);
        app.delete(&format!("/products/{}", shop.charger)).assert_problem(404);
    }

    fn products_list_by_category_in_pages(app) {
        let phones = app.create_category("Phones", None);
        let cables = app.create_category("Cables", None);
        let mut phone_ids = Vec::new();
        for i in 0..5 {
            phone_ids.push(app.create_product(&format!("PH-{i}"), phones, 100 + i));
            app.create_product(&format!("CA-{i}"), cables, 10 + i);
        }

        let first = app.get(&format!("/products?category_id={phones}&limit=3")).json();
        let after = first["next_after"].as_i64().unwrap();
        let second = app.get(&format!("/products?category_id={phones}&limit=3&after={after}")).json();

        let ids: Vec<i64> = first["items"].as_array().unwrap().iter()
            .chain(second["items"].as_array().unwrap())
            .map(|p| p["product_id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, phone_ids);
        assert_eq!(second["next_after"], serde_json::Value::Null);
        assert_eq!(app.get("/products?limit=500").json()["items"].as_array().unwrap().len(), 10);
        app.get("/products?limit=501").assert_problem(400);
    }
}
