//! The N+1 lab: four strategies, byte-identical answers, exact statement counts.

use std::collections::HashMap;

use diesel::prelude::*;
use mercado::db::Backend;
use mercado::models::{Customer, Order, OrderItem};
use mercado::schema::{customers, order_items, orders};
use serde_json::Value;

use crate::helpers::{TestApp, TestResponse};

const STRATEGIES: [&str; 4] = ["n-plus-one", "batched", "joined", "aggregate"];

/// Calls all four strategies for one page; asserts identical bodies and the contract's counts.
/// Returns the shared body.
fn check_page(app: &TestApp, query: &str) -> Value {
    let responses: Vec<TestResponse> = STRATEGIES
        .iter()
        .map(|s| app.get(&format!("/dashboard/{s}?{query}")))
        .collect();
    for (strategy, res) in STRATEGIES.iter().zip(&responses) {
        assert_eq!(res.status, 200, "{strategy}?{query}: {}", res.body);
        assert_eq!(
            res.body, responses[0].body,
            "{strategy}?{query} differs from n-plus-one"
        );
    }
    let body = responses[0].json();
    let items = body["items"].as_array().unwrap();
    let n = items.len();
    let o: usize = items
        .iter()
        .map(|r| r["order_count"].as_u64().unwrap() as usize)
        .sum();
    let batched = match (n, o) {
        (0, _) => 1,
        (_, 0) => 2,
        _ => 3,
    };
    let counts: Vec<usize> = responses.iter().map(TestResponse::query_count).collect();
    assert_eq!(
        counts,
        vec![1 + n + o, batched, 1, 1],
        "?{query} with N={n}, O={o}"
    );
    body
}

/// The dashboard computed a second, independent way: every row loaded through the query
/// builder and summed in the test.
fn expected_rows(app: &TestApp) -> HashMap<i64, (i64, i64)> {
    let mut conn = app.conn();
    let customers: Vec<Customer> = customers::table
        .select(Customer::as_select())
        .load(&mut *conn)
        .unwrap();
    let orders: Vec<Order> = orders::table
        .select(Order::as_select())
        .load(&mut *conn)
        .unwrap();
    let items: Vec<OrderItem> = order_items::table
        .select(OrderItem::as_select())
        .load(&mut *conn)
        .unwrap();
    let mut expected: HashMap<i64, (i64, i64)> =
        customers.iter().map(|c| (c.customer_id, (0, 0))).collect();
    let status: HashMap<i64, (i64, &str)> = orders
        .iter()
        .map(|o| (o.order_id, (o.customer_id, o.status.as_str())))
        .collect();
    for order in &orders {
        expected.get_mut(&order.customer_id).unwrap().0 += 1;
    }
    for item in &items {
        let (customer, state) = status[&item.order_id];
        if state != "cancelled" {
            expected.get_mut(&customer).unwrap().1 +=
                i64::from(item.quantity) * item.unit_price_cents;
        }
    }
    expected
}

fn assert_matches_independent_computation(app: &TestApp, body: &Value) {
    let expected = expected_rows(app);
    for row in body["items"].as_array().unwrap() {
        let id = row["customer_id"].as_i64().unwrap();
        let (count, spend) = expected[&id];
        assert_eq!(row["order_count"], count, "customer {id}");
        assert_eq!(row["total_spend_cents"], spend, "customer {id}");
    }
}

both_backends! {
    fn the_four_strategies_agree_byte_for_byte_with_exact_counts(app) {
        app.seed(40, 3, 11);

        let first = check_page(app, "limit=10");
        let next = first["next_after"].as_i64().unwrap();
        check_page(app, &format!("limit=7&after={next}"));
        let all = check_page(app, "limit=50");
        check_page(app, "after=40");
        check_page(app, "limit=1&after=39");

        assert_eq!(first["items"].as_array().unwrap().len(), 10);
        assert_eq!(all["items"].as_array().unwrap().len(), 40);
        assert_eq!(all["next_after"], Value::Null);
        assert!(all["items"].as_array().unwrap().iter().any(|r| r["order_count"] == 0), "some customers never ordered");
        assert_matches_independent_computation(app, &all);
    }

    fn customers_without_orders_cost_batched_two_statements(app) {
        app.seed(15, 0, 3);

        let body = check_page(app, "limit=20");

        assert_eq!(body["items"].as_array().unwrap().len(), 15);
        assert!(body["items"].as_array().unwrap().iter().all(|r| r["order_count"] == 0 && r["total_spend_cents"] == 0));
    }

    fn an_empty_shop_answers_an_empty_page_in_one_statement_each_but_n_plus_one(app) {
        let body = check_page(app, "");

        assert_eq!(body, serde_json::json!({"items": [], "next_after": null}));
    }

    fn cancelled_orders_count_but_do_not_spend(app) {
        let shop = crate::helpers::Shop::build(app);
        let kept = app.place_order(shop.customer_id, &[(shop.cable, 2)]);
        let cancelled = app.place_order(shop.customer_id, &[(shop.charger, 1)]);
        app.patch(&format!("/orders/{}", cancelled["order_id"]), serde_json::json!({"status": "cancelled"}));

        let body = check_page(app, "limit=5");

        assert_eq!(body["items"][0]["order_count"], 2);
        assert_eq!(body["items"][0]["total_spend_cents"], kept["total_cents"]);
    }

    fn a_different_shop_still_agrees(app) {
        app.seed(60, 6, 99);

        for query in ["limit=25", "limit=25&after=25", "limit=60"] {
            let body = check_page(app, query);
            assert_matches_independent_computation(app, &body);
        }
    }

    fn unknown_strategies_are_404_and_bad_limits_400(app) {
        for path in ["/dashboard/lazy", "/dashboard/", "/dashboard/N-PLUS-ONE"] {
            app.get(path).assert_problem(404);
        }
        for query in ["limit=0", "limit=5001", "limit=x", "after=-1"] {
            app.get(&format!("/dashboard/batched?{query}")).assert_problem(400);
        }
        assert_eq!(app.get("/dashboard/batched?limit=5000").status, 200);
    }

    fn the_largest_page_splits_id_lists_only_where_the_bind_limit_forces_it(app) {
        // 5,000 customers holding more orders than one SQLite statement can list.
        app.seed(5_000, 8, 5);
        let orders = app.count("orders") as usize;
        assert!(orders > 32_766, "{orders} orders");

        let responses: Vec<TestResponse> = ["batched", "joined", "aggregate"]
            .iter()
            .map(|s| app.get(&format!("/dashboard/{s}?limit=5000")))
            .collect();

        assert!(responses.iter().all(|r| r.body == responses[0].body), "the strategies agree");
        assert_eq!(responses[0].json()["items"].as_array().unwrap().len(), 5_000);
        // One extra statement per extra chunk of order ids on SQLite; PostgreSQL sends one array.
        let item_chunks = match app.backend {
            Backend::Sqlite => orders.div_ceil(32_766),
            Backend::Postgresql => 1,
        };
        let expected = 3 + (item_chunks - 1);
        assert_eq!(expected, if app.backend == Backend::Sqlite { 4 } else { 3 });
        assert_eq!(responses[0].query_count(), expected);
        assert_eq!(responses[1].query_count(), 1);
        assert_eq!(responses[2].query_count(), 1);
        assert_matches_independent_computation(app, &responses[0].json());
    }
}
