//! Counts that do not grow with the data: every route of `app::endpoints`, once on a small
//! shop and once on a shop ten times larger with three times the orders per customer, at the
//! same page sizes. A route that sends more statements the second time runs a query per row
//! somewhere, however few rows the small shop had (a loop over five rows slips under any
//! threshold; it cannot slip past this). Only the deliberate N+1 may grow, and only as
//! 1 + N + O.

use std::collections::BTreeMap;

use diesel::dsl::count_star;
use diesel::prelude::*;
use mercado::app::endpoints;
use mercado::schema::{customers, orders};

use crate::helpers::{body_for, TestApp};

/// What one request cost: its statements, and their runs per SQL text.
struct Cost {
    count: usize,
    runs: BTreeMap<String, u64>,
}

/// Sends every route of the table once and returns the cost of each, keyed by method and
/// path pattern (with the strategy filled in for the dashboard and explain routes).
fn cost_of_every_route(app: &TestApp, round: u32) -> BTreeMap<String, Cost> {
    let settings = crate::helpers::every_route_on();
    // The customer with the most orders: their reads grow most with the data.
    let (busiest, _) = orders::table
        .group_by(orders::customer_id)
        .select((orders::customer_id, count_star()))
        .order((count_star().desc(), orders::customer_id))
        .first::<(i64, i64)>(&mut *app.conn())
        .unwrap();
    // Fresh rows of this round for the routes that change or delete one.
    let customer = app.create_customer("Scale", "Test", &format!("scale.{round}@example.com"));
    let doomed_customer =
        app.create_customer("Scale", "Gone", &format!("scale.gone.{round}@example.com"));
    let category = app.create_category(&format!("Scale {round}"), Some(1));
    let doomed_category = app.create_category(&format!("Gone {round}"), None);
    let product = app.create_product(&format!("SCALE-{round}"), 1, 500);
    let doomed_product = app.create_product(&format!("GONE-{round}"), 1, 500);
    let order = app.place_order(busiest, &[(1, 1)])["order_id"]
        .as_i64()
        .unwrap();
    let doomed_order = app.place_order(busiest, &[(1, 1)])["order_id"]
        .as_i64()
        .unwrap();

    let mut costs = BTreeMap::new();
    for endpoint in endpoints(&settings) {
        let (method, pattern) = (endpoint.method.to_string(), endpoint.path);
        let strategies: &[&str] = if pattern.contains("{strategy}") {
            &["n-plus-one", "batched", "joined", "aggregate"]
        } else {
            &[""]
        };
        for strategy in strategies {
            let id = match (method.as_str(), pattern.split('/').nth(1)) {
                ("DELETE", Some("customers")) => doomed_customer,
                ("DELETE", Some("categories")) => doomed_category,
                ("DELETE", Some("products")) => doomed_product,
                ("DELETE", _) => doomed_order,
                (_, Some("customers")) if method == "PATCH" => customer,
                (_, Some("customers")) => busiest,
                (_, Some("categories")) => category,
                (_, Some("products")) => product,
                _ => order,
            };
            let path = pattern
                .replace("{strategy}", strategy)
                .replace("{id}", &id.to_string());
            let res = match body_for(&method, pattern, round, busiest) {
                Some(body) => app.send_json(&method, &path, body),
                None => app.send(&method, &path, None, None),
            };
            assert!(res.status < 500, "{method} {path}: {}", res.body);
            let record = app
                .get(&format!(
                    "/_debug/queries/{}",
                    res.header("x-request-id").unwrap()
                ))
                .json();
            let runs = record["statements"]
                .as_array()
                .map(|groups| {
                    groups
                        .iter()
                        .map(|g| {
                            (
                                g["sql"].as_str().unwrap().to_string(),
                                g["count"].as_u64().unwrap(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let key = format!("{method} {}", pattern.replace("{strategy}", strategy));
            costs.insert(
                key,
                Cost {
                    count: res.query_count(),
                    runs,
                },
            );
        }
    }
    costs
}

/// The statements that ran more often in `after` than in `before`, numbered, for a failure
/// message (the way Django's `assertNumQueries` lists the queries).
fn grown(before: &Cost, after: &Cost) -> String {
    after
        .runs
        .iter()
        .filter(|(sql, runs)| **runs > before.runs.get(*sql).copied().unwrap_or(0))
        .enumerate()
        .map(|(i, (sql, runs))| {
            let was = before.runs.get(sql).copied().unwrap_or(0);
            format!("  {}. ran {runs} times (was {was}): {sql}", i + 1)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

both_backends! {
    fn no_route_sends_more_statements_when_the_data_grows(app) {
        app.seed(40, 2, 3);
        let small = cost_of_every_route(app, 1);

        app.reseed(400, 6, 4);
        let large = cost_of_every_route(app, 2);

        // The deliberate N+1 grows exactly as 1 + N + O for the default page of 50.
        let page: Vec<i64> = customers::table
            .select(customers::customer_id)
            .order(customers::customer_id)
            .limit(50)
            .load(&mut *app.conn())
            .unwrap();
        let page_orders: i64 = orders::table
            .filter(orders::customer_id.eq_any(&page))
            .count()
            .get_result(&mut *app.conn())
            .unwrap();
        let expected = 1 + page.len() + page_orders as usize;
        assert_eq!(large["GET /dashboard/n-plus-one"].count, expected, "1 + N + O");
        assert!(large["GET /dashboard/n-plus-one"].count > small["GET /dashboard/n-plus-one"].count);

        let mut failures = Vec::new();
        for (route, before) in &small {
            // The N+1 and its explanation (which runs it) are the routes meant to grow.
            if route.ends_with("/n-plus-one") {
                continue;
            }
            let after = &large[route];
            if after.count > before.count {
                failures.push(format!(
                    "{route} sent {} statements on the small shop and {} on one ten times larger:\n{}",
                    before.count, after.count, grown(before, after)
                ));
            }
        }
        assert!(small.len() >= 33, "checked {} routes", small.len());
        assert!(failures.is_empty(), "statement counts grew with the data:\n{}", failures.join("\n"));
    }
}
