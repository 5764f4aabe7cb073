//! The contract's error table: every status, always in problem+json, never a 500 from input.

use serde_json::json;

both_backends! {
    fn an_unknown_route_is_a_404_problem(app) {
        for (method, path) in [("GET", "/nope"), ("POST", "/customers/1/nope"), ("GET", "/"), ("DELETE", "/orders/1/items")] {
            app.send(method, path, None, None).assert_problem(404);
        }
    }

    fn a_wrong_method_is_a_405_problem_with_allow(app) {
        for (method, path, allow) in [
            ("PUT", "/customers", "GET, POST"),
            ("DELETE", "/customers", "GET, POST"),
            ("POST", "/customers/1", "GET, PATCH, DELETE"),
            ("PUT", "/orders/1", "GET, PATCH, DELETE"),
            ("POST", "/health", "GET"),
            ("PATCH", "/customers/1/orders", "GET"),
        ] {
            let res = app.send(method, path, Some("application/json"), Some(b"{}".to_vec()));
            res.assert_problem(405);
            assert_eq!(res.header("allow"), Some(allow), "{method} {path}");
        }
    }

    fn bodies_that_do_not_parse_or_fit_the_shape_are_400(app) {
        let bodies: [&[u8]; 9] = [
            b"{not json",
            b"",
            b"[]",
            b"null",
            br#"{"first_name": "A", "last_name": "B"}"#,
            br#"{"first_name": 1, "last_name": "B", "email": "a@b.co"}"#,
            br#"{"first_name": "A", "last_name": "B", "email": "a@b.co", "admin": true}"#,
            br#"{"first_name": "A", "last_name": "B", "email": "a@b.co"} trailing"#,
            b"\xff\xfe",
        ];
        for body in bodies {
            let res = app.send("POST", "/customers", Some("application/json"), Some(body.to_vec()));
            let problem = res.assert_problem(400);
            assert!(!problem["detail"].as_str().unwrap().is_empty());
        }
        assert_eq!(app.count("customers"), 0);
    }

    fn a_body_that_is_not_json_is_415(app) {
        let body = br#"{"first_name": "A", "last_name": "B", "email": "a@b.co"}"#.to_vec();
        for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
            app.send("POST", "/customers", content_type, Some(body.clone())).assert_problem(415);
        }
        let charset = app.send("POST", "/customers", Some("application/json; charset=utf-8"), Some(body));
        assert_eq!(charset.status, 201, "a charset parameter is still JSON");
    }

    fn a_body_over_256_kib_is_413_and_writes_nothing(app) {
        let padding = "x".repeat(256 * 1024);
        let body = serde_json::to_vec(&json!({"first_name": padding, "last_name": "B", "email": "a@b.co"})).unwrap();

        app.send("POST", "/customers", Some("application/json"), Some(body)).assert_problem(413);

        assert_eq!(app.count("customers"), 0);
        let just_under = json!({"first_name": "A", "last_name": "B", "email": "a@b.co", "x": "y".repeat(200 * 1024)});
        app.post("/customers", just_under).assert_problem(400);
    }

    fn numbers_of_the_right_type_but_out_of_range_are_422_and_others_400(app) {
        let category = app.create_category("C", None);
        let product = |price: serde_json::Value| {
            json!({"sku": "S", "name": "N", "category_id": category, "unit_price_cents": price})
        };
        app.post("/products", product(json!(-1))).assert_problem(422);
        app.post("/products", product(json!(1e30))).assert_problem(400);
        app.post("/products", product(json!("12"))).assert_problem(400);
        app.post("/products", product(json!(12.5))).assert_problem(400);
    }

    fn every_response_carries_query_count_and_server_timing(app) {
        let responses = [
            app.get("/health"),
            app.get("/customers"),
            app.get("/nope"),
            app.send("PUT", "/customers", None, None),
            app.send("POST", "/customers", Some("application/json"), Some(b"{".to_vec())),
        ];
        let expected_counts = [1, 1, 0, 0, 0];

        for (res, expected) in responses.iter().zip(expected_counts) {
            assert_eq!(res.query_count(), expected, "{}", res.body);
            let timing = res.header("server-timing").expect("Server-Timing");
            assert!(timing.starts_with("db;dur="), "{timing}");
            assert!(timing.ends_with(&format!("desc=\"{expected} queries\"")), "{timing}");
        }
    }

    fn no_input_of_any_kind_yields_a_500(app) {
        let shop = crate::helpers::Shop::build(app);
        let nasty = [
            json!({"first_name": "\u{0}", "last_name": "B", "email": "a@b.co"}),
            json!({"first_name": "A", "last_name": "B", "email": "\u{1F600}@\u{1F600}.co"}),
            json!({"first_name": "A'; DROP TABLE customers; --", "last_name": "B", "email": "x@y.zz"}),
            json!({"customer_id": i64::MAX, "items": [{"product_id": i64::MAX, "quantity": i64::MAX}]}),
            json!({"customer_id": shop.customer_id, "items": [{"product_id": shop.cable, "quantity": i64::MIN}]}),
            json!({"name": "x", "parent_id": i64::MAX}),
            json!({"sku": "s", "name": "n", "category_id": i64::MIN, "unit_price_cents": i64::MAX}),
            json!({"status": "paid'--"}),
            // nested deeper than serde_json's recursion limit
            (0..200).fold(json!([]), |inner, _| json!([inner])),
        ];
        let paths = ["/customers", "/orders", "/categories", "/products", "/customers/1", "/orders/1", "/categories/1", "/products/1"];
        for body in &nasty {
            for path in paths {
                for method in ["POST", "PATCH"] {
                    let res = app.send_json(method, path, body.clone());
                    assert!(res.status < 500, "{method} {path} {body} -> {} {}", res.status, res.body);
                }
            }
        }
        for query in ["limit=99999999999999999999", "after=9223372036854775807", "email=%00", "customer_id=-5", "status=%27"] {
            for path in ["/customers", "/orders", "/products"] {
                let res = app.get(&format!("{path}?{query}"));
                assert!(res.status < 500, "{path}?{query} -> {} {}", res.status, res.body);
            }
        }
        app.get("/customers?email=%00").assert_problem(400);
        assert_eq!(app.count("customers"), 1 + 2, "the shop's customer and the two odd-but-legal ones");
    }
}
