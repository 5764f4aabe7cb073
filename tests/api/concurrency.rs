//! Many clients at once: the unique index decides races, and SQLite writers queue instead of
//! failing with "database is locked".

use serde_json::json;

use crate::helpers::Shop;

both_backends! {
    fn fifty_parallel_creates_of_one_email_give_one_201_and_forty_nine_409s(app) {
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..50)
                .map(|i| {
                    s.spawn(move || {
                        app.post(
                            "/customers",
                            json!({"first_name": format!("Racer{i}"), "last_name": "Same", "email": "same@example.com"}),
                        )
                        .status
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });

        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 49, "{statuses:?}");
        assert_eq!(app.count("customers"), 1);
    }

    fn parallel_writers_all_succeed(app) {
        let shop = Shop::build(app);
        let failures: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|worker| {
                    let shop = &shop;
                    s.spawn(move || {
                        let mut failures = Vec::new();
                        for i in 0..20 {
                            // Read-then-write transactions, the pattern that deadlocks a deferred
                            // SQLite transaction: place an order, then move it along.
                            let placed = app.post(
                                "/orders",
                                json!({"customer_id": shop.customer_id, "items": [{"product_id": shop.cable, "quantity": 1 + i}]}),
                            );
                            if placed.status != 201 {
                                failures.push(format!("place: {} {}", placed.status, placed.body));
                                continue;
                            }
                            let id = placed.json()["order_id"].as_i64().unwrap();
                            let paid = app.patch(&format!("/orders/{id}"), json!({"status": "paid"}));
                            if paid.status != 200 {
                                failures.push(format!("pay: {} {}", paid.status, paid.body));
                            }
                            let created = app.post(
                                "/customers",
                                json!({"first_name": "W", "last_name": "P", "email": format!("w{worker}-{i}@example.com")}),
                            );
                            if created.status != 201 {
                                failures.push(format!("customer: {} {}", created.status, created.body));
                            }
                        }
                        failures
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });

        assert!(failures.is_empty(), "{} failures, e.g. {:?}", failures.len(), failures.first());
        assert_eq!(app.count("orders"), 160);
        assert_eq!(app.get("/orders?status=paid&limit=500").json()["items"].as_array().unwrap().len(), 160);
    }
}
