//! The raw-SQL reports, proven against a second, independent computation: every row loaded
//! through the query builder and the numbers worked out in Rust.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use diesel::prelude::*;
use mercado::db::Backend;
use mercado::models::{Category, Customer, Order, OrderItem, OrderStatus, Product};
use mercado::schema::{categories, customers, order_items, orders, products};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

/// Every row of the shop.
struct Rows {
    customers: Vec<Customer>,
    orders: Vec<Order>,
    items: Vec<OrderItem>,
    products: Vec<Product>,
    categories: Vec<Category>,
}

fn rows(app: &TestApp) -> Rows {
    let mut conn = app.conn();
    let conn = &mut *conn;
    Rows {
        customers: customers::table
            .select(Customer::as_select())
            .load(conn)
            .unwrap(),
        orders: orders::table.select(Order::as_select()).load(conn).unwrap(),
        items: order_items::table
            .select(OrderItem::as_select())
            .load(conn)
            .unwrap(),
        products: products::table
            .select(Product::as_select())
            .load(conn)
            .unwrap(),
        categories: categories::table
            .select(Category::as_select())
            .load(conn)
            .unwrap(),
    }
}

impl Rows {
    fn live_orders(&self) -> impl Iterator<Item = &Order> {
        self.orders
            .iter()
            .filter(|o| o.status != OrderStatus::Cancelled)
    }

    fn order_total(&self, order_id: i64) -> i64 {
        self.items
            .iter()
            .filter(|i| i.order_id == order_id)
            .map(|i| i64::from(i.quantity) * i.unit_price_cents)
            .sum()
    }

    fn orders_by_last_name(&self, limit: usize) -> Value {
        let last_name: HashMap<i64, &str> = self
            .customers
            .iter()
            .map(|c| (c.customer_id, c.last_name.as_str()))
            .collect();
        let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
        for order in &self.orders {
            *counts.entry(last_name[&order.customer_id]).or_default() += 1;
        }
        let mut rows: Vec<(&str, i64)> = counts.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        json!(rows
            .iter()
            .take(limit)
            .map(|(name, n)| json!({"last_name": name, "orders": n}))
            .collect::<Vec<_>>())
    }

    fn top_customers(&self, limit: usize) -> Value {
        let mut per: Vec<(&Customer, i64, i64)> = self
            .customers
            .iter()
            .map(|c| {
                let mine = self
                    .orders
                    .iter()
                    .filter(|o| o.customer_id == c.customer_id);
                let count = mine.clone().count() as i64;
                let spend = mine
                    .filter(|o| o.status != OrderStatus::Cancelled)
                    .map(|o| self.order_total(o.order_id))
                    .sum();
                (c, count, spend)
            })
            .collect();
        per.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.customer_id.cmp(&b.0.customer_id)));
        let spends: Vec<i64> = per.iter().map(|p| p.2).collect();
        json!(per
            .iter()
            .take(limit)
            .map(|(c, count, spend)| {
                // RANK(): one more than the number of customers who spent strictly more.
                let rank = 1 + spends.iter().filter(|s| **s > *spend).count();
                json!({"rank": rank, "customer_id": c.customer_id, "first_name": c.first_name,
                       "last_name": c.last_name, "order_count": count, "total_spend_cents": spend})
            })
            .collect::<Vec<_>>())
    }

    fn monthly_revenue(&self, from: Option<(i32, u32)>, to: Option<(i32, u32)>) -> Value {
        let month_of = |o: &Order| o.placed_at.format("%Y-%m").to_string();
        let mut per: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for order in self.live_orders() {
            let entry = per.entry(month_of(order)).or_default();
            entry.0 += 1;
            entry.1 += self.order_total(order.order_id);
        }
        let parse = |m: &String| {
            (
                m[..4].parse::<i32>().unwrap(),
                m[5..].parse::<u32>().unwrap(),
            )
        };
        let (Some(first), Some(last)) = (
            from.or(per.keys().next().map(parse)),
            to.or(per.keys().last().map(parse)),
        ) else {
            return json!([]);
        };
        let mut out = Vec::new();
        let (mut year, mut month, mut running) = (first.0, first.1, 0);
        while (year, month) <= last {
            let key = format!("{year:04}-{month:02}");
            let (count, revenue) = per.get(&key).copied().unwrap_or_default();
            running += revenue;
            out.push(json!({"month": key, "order_count": count, "revenue_cents": revenue, "running_revenue_cents": running}));
            (year, month) = if month == 12 {
                (year + 1, 1)
            } else {
                (year, month + 1)
            };
        }
        json!(out)
    }

    fn category_revenue(&self) -> Value {
        let by_id: HashMap<i64, &Category> =
            self.categories.iter().map(|c| (c.category_id, c)).collect();
        let ancestors = |id: i64| {
            let mut chain = vec![id];
            while let Some(parent) = by_id[chain.last().unwrap()].parent_id {
                chain.push(parent);
            }
            chain
        };
        let category_of: HashMap<i64, i64> = self
            .products
            .iter()
            .map(|p| (p.product_id, p.category_id))
            .collect();
        let live: std::collections::HashSet<i64> = self.live_orders().map(|o| o.order_id).collect();
        let mut own: HashMap<i64, i64> = HashMap::new();
        for item in self.items.iter().filter(|i| live.contains(&i.order_id)) {
            *own.entry(category_of[&item.product_id]).or_default() +=
                i64::from(item.quantity) * item.unit_price_cents;
        }
        let mut rolled: HashMap<i64, i64> = HashMap::new();
        for (category, revenue) in &own {
            for ancestor in ancestors(*category) {
                *rolled.entry(ancestor).or_default() += revenue;
            }
        }
        let mut rows: Vec<(String, Value)> = self
            .categories
            .iter()
            .map(|c| {
                let chain = ancestors(c.category_id);
                let path = chain.iter().rev().map(|id| by_id[id].name.as_str()).collect::<Vec<_>>().join(" > ");
                let row = json!({"category_id": c.category_id, "name": c.name, "parent_id": c.parent_id,
                    "depth": chain.len() - 1, "path": path,
                    "own_revenue_cents": own.get(&c.category_id).copied().unwrap_or(0),
                    "revenue_cents": rolled.get(&c.category_id).copied().unwrap_or(0)});
                (path, row)
            })
            .collect();
        // Rust orders strings by their UTF-8 bytes, which is code-point order.
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        json!(rows.into_iter().map(|(_, row)| row).collect::<Vec<_>>())
    }
}

/// A hand-built tree three levels deep whose names sort differently by code point than by
/// dictionary ("Zebra" < "apple" < "Éclair"), with products at two levels, a cancelled order,
/// and a category that sells nothing. Orders are dated, so the months are known.
fn build_tree(app: &TestApp) {
    let zebra = app.create_category("Zebra", None);
    let apple = app.create_category("apple", Some(zebra));
    let eclair = app.create_category("Éclair", Some(apple));
    app.create_category("Banana", Some(zebra));
    let leaf = app.create_product("T-LEAF", eclair, 1_000);
    let mid = app.create_product("T-MID", apple, 250);
    let buyer = app.create_customer("Tree", "Ödegaard", "tree.buyer@example.com");
    let a = app.place_order(buyer, &[(leaf, 2), (mid, 1)]);
    let b = app.place_order(buyer, &[(mid, 4)]);
    let c = app.place_order(buyer, &[(leaf, 1)]);
    app.patch(
        &format!("/orders/{}", c["order_id"]),
        json!({"status": "cancelled"}),
    );
    for (order, (y, m, d)) in [(a, (2024, 3, 31)), (b, (2024, 6, 1)), (c, (2024, 4, 15))] {
        let at = NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap();
        diesel::update(orders::table.find(order["order_id"].as_i64().unwrap()))
            .set(orders::placed_at.eq(at))
            .execute(&mut *app.conn())
            .unwrap();
    }
}

fn report(app: &TestApp, path: &str) -> Value {
    let res = app.get(path);
    assert_eq!(res.status, 200, "{path}: {}", res.body);
    assert_eq!(res.query_count(), 1, "{path} is one statement");
    res.json()["items"].clone()
}

both_backends! {
    fn every_report_matches_an_independent_computation(app) {
        app.seed(80, 4, 17);
        build_tree(app);
        let rows = rows(app);

        assert_eq!(report(app, "/reports/orders-by-last-name"), rows.orders_by_last_name(10));
        assert_eq!(report(app, "/reports/orders-by-last-name?limit=100"), rows.orders_by_last_name(100));
        assert_eq!(report(app, "/reports/top-customers"), rows.top_customers(10));
        assert_eq!(report(app, "/reports/top-customers?limit=100"), rows.top_customers(100));
        assert_eq!(report(app, "/reports/monthly-revenue"), rows.monthly_revenue(None, None));
        assert_eq!(
            report(app, "/reports/monthly-revenue?from=2024-02&to=2024-07"),
            rows.monthly_revenue(Some((2024, 2)), Some((2024, 7)))
        );
        assert_eq!(report(app, "/reports/category-revenue"), rows.category_revenue());
    }

    fn the_category_report_rolls_revenue_up_and_sorts_by_code_point(app) {
        build_tree(app);

        let items = report(app, "/reports/category-revenue");

        let paths: Vec<&str> = items.as_array().unwrap().iter().map(|r| r["path"].as_str().unwrap()).collect();
        assert_eq!(paths, ["Zebra", "Zebra > Banana", "Zebra > apple", "Zebra > apple > Éclair"]);
        let by_path = |p: &str| items.as_array().unwrap().iter().find(|r| r["path"] == p).unwrap().clone();
        // Live orders: 2 × 1000 + 1 × 250, then 4 × 250; the cancelled 1 × 1000 is left out.
        assert_eq!(by_path("Zebra > apple > Éclair")["own_revenue_cents"], 2_000);
        assert_eq!(by_path("Zebra > apple")["own_revenue_cents"], 1_250);
        assert_eq!(by_path("Zebra > apple")["revenue_cents"], 3_250);
        assert_eq!(by_path("Zebra")["revenue_cents"], 3_250);
        assert_eq!(by_path("Zebra")["own_revenue_cents"], 0);
        assert_eq!(by_path("Zebra > Banana")["revenue_cents"], 0);
        assert_eq!(by_path("Zebra > apple > Éclair")["depth"], 2);
        assert_eq!(by_path("Zebra")["parent_id"], Value::Null);
    }

    fn monthly_revenue_lists_every_month_and_runs_a_total(app) {
        build_tree(app);

        let items = report(app, "/reports/monthly-revenue");
        let wide = report(app, "/reports/monthly-revenue?from=2024-01&to=2024-08");

        // March and June hold the live orders; April's only order was cancelled.
        assert_eq!(items, json!([
            {"month": "2024-03", "order_count": 1, "revenue_cents": 2_250, "running_revenue_cents": 2_250},
            {"month": "2024-04", "order_count": 0, "revenue_cents": 0, "running_revenue_cents": 2_250},
            {"month": "2024-05", "order_count": 0, "revenue_cents": 0, "running_revenue_cents": 2_250},
            {"month": "2024-06", "order_count": 1, "revenue_cents": 1_000, "running_revenue_cents": 3_250},
        ]));
        assert_eq!(wide.as_array().unwrap().len(), 8);
        assert_eq!(wide[0], json!({"month": "2024-01", "order_count": 0, "revenue_cents": 0, "running_revenue_cents": 0}));
        assert_eq!(wide[7]["running_revenue_cents"], 3_250);
        let from_april = report(app, "/reports/monthly-revenue?from=2024-04");
        assert_eq!(from_april[0]["running_revenue_cents"], 0, "the running total starts at from");
        assert_eq!(from_april.as_array().unwrap().len(), 3);
        let year_end = report(app, "/reports/monthly-revenue?from=2023-11&to=2024-02");
        assert_eq!(year_end.as_array().unwrap().iter().map(|m| m["month"].as_str().unwrap()).collect::<Vec<_>>(),
                   ["2023-11", "2023-12", "2024-01", "2024-02"]);
    }

    fn ties_share_a_rank_and_the_next_rank_skips(app) {
        let shop = crate::helpers::Shop::build(app);
        let bob = app.create_customer("Bob", "Lee", "bob@example.com");
        let cy = app.create_customer("Cy", "Ng", "cy@example.com");
        app.place_order(shop.customer_id, &[(shop.cable, 2)]);
        app.place_order(bob, &[(shop.cable, 2)]);
        app.place_order(cy, &[(shop.cable, 1)]);

        let items = report(app, "/reports/top-customers");

        let ranks: Vec<(i64, i64)> = items.as_array().unwrap().iter()
            .map(|r| (r["rank"].as_i64().unwrap(), r["customer_id"].as_i64().unwrap()))
            .collect();
        assert_eq!(ranks, vec![(1, shop.customer_id), (1, bob), (3, cy)]);
    }

    /// The report ranks only the customers inside the limit; a tie that the limit cuts through
    /// must still carry the rank it has among all customers.
    fn a_tie_cut_by_the_limit_keeps_its_rank(app) {
        let shop = crate::helpers::Shop::build(app);
        let bob = app.create_customer("Bob", "Lee", "bob@example.com");
        let cy = app.create_customer("Cy", "Ng", "cy@example.com");
        let dee = app.create_customer("Dee", "Ito", "dee@example.com");
        app.place_order(shop.customer_id, &[(shop.charger, 1)]);
        app.place_order(bob, &[(shop.cable, 1)]);
        app.place_order(cy, &[(shop.cable, 1)]);

        let ranks = |limit: i64| -> Vec<(i64, i64)> {
            report(app, &format!("/reports/top-customers?limit={limit}")).as_array().unwrap().iter()
                .map(|r| (r["rank"].as_i64().unwrap(), r["customer_id"].as_i64().unwrap()))
                .collect()
        };

        assert_eq!(ranks(2), vec![(1, shop.customer_id), (2, bob)]);
        assert_eq!(ranks(3), vec![(1, shop.customer_id), (2, bob), (2, cy)]);
        assert_eq!(ranks(4), vec![(1, shop.customer_id), (2, bob), (2, cy), (4, dee)]);
    }

    fn an_empty_shop_has_empty_reports(app) {
        for path in ["/reports/orders-by-last-name", "/reports/top-customers", "/reports/monthly-revenue", "/reports/category-revenue"] {
            assert_eq!(report(app, path), json!([]), "{path}");
        }
        assert_eq!(report(app, "/reports/monthly-revenue?from=2025-01&to=2025-02").as_array().unwrap().len(), 2);
    }

    fn report_parameters_are_checked(app) {
        for path in ["orders-by-last-name", "top-customers"] {
            for limit in ["0", "101", "abc", "-1", ""] {
                app.get(&format!("/reports/{path}?limit={limit}")).assert_problem(400);
            }
            assert_eq!(app.get(&format!("/reports/{path}?limit=100")).status, 200);
        }
        for query in ["from=2025-13", "from=2025-1", "to=25-01", "from=2025-01-01", "to=January", "from="] {
            app.get(&format!("/reports/monthly-revenue?{query}")).assert_problem(400);
        }
        let backwards = app.get("/reports/monthly-revenue?from=2025-03&to=2025-02");
        backwards.assert_problem(422);
        assert_eq!(backwards.query_count(), 0);
        app.get("/reports/monthly-revenue?from=1900-01&to=2100-01").assert_problem(422);
        app.get("/reports/nope").assert_problem(404);
        app.send("POST", "/reports/top-customers", Some("application/json"), Some(b"{}".to_vec())).assert_problem(405);
    }

    fn hostile_parameters_are_refused_or_harmless(app) {
        app.seed(20, 2, 3);
        let before = [app.count("customers"), app.count("orders"), app.count("order_items")];
        let hostile = [
            "/reports/top-customers?limit=1;DROP%20TABLE%20customers",
            "/reports/top-customers?limit=1%20OR%201=1",
            "/reports/orders-by-last-name?limit=10%27%29--",
            "/reports/monthly-revenue?from=2025-01%27;%20DROP%20TABLE%20orders;--",
            "/reports/monthly-revenue?to=%F0%9F%98%80",
            "/reports/monthly-revenue?from=%00",
            "/reports/category-revenue?path=%27%20OR%201=1--",
        ];
        for path in hostile {
            let res = app.get(path);
            assert!(res.status == 200 || res.status == 400 || res.status == 422, "{path}: {} {}", res.status, res.body);
        }
        assert_eq!([app.count("customers"), app.count("orders"), app.count("order_items")], before);
        assert_eq!(report(app, "/reports/top-customers?limit=5").as_array().unwrap().len(), 5);
    }
}

/// The same data on both backends gives the same bytes from every report.
#[test]
fn both_backends_give_identical_report_bodies() {
    let Some(postgres) = spawn_app(Backend::Postgresql) else {
        return;
    };
    let sqlite = spawn_app(Backend::Sqlite).unwrap();
    for app in [&postgres, &sqlite] {
        app.seed(60, 3, 23);
        build_tree(app);
    }
    for path in [
        "/reports/orders-by-last-name?limit=100",
        "/reports/top-customers?limit=100",
        "/reports/monthly-revenue",
        "/reports/monthly-revenue?from=2023-06&to=2026-02",
        "/reports/category-revenue",
    ] {
        let (pg, lite) = (postgres.get(path), sqlite.get(path));
        assert_eq!(pg.status, 200, "{path}: {}", pg.body);
        assert_eq!(pg.body, lite.body, "{path}");
    }
}
