//! `mercado seed` and the demo shop: deterministic, identical on both backends, all constraints
//! kept when appending.

use diesel::prelude::*;
use indicatif::ProgressBar;
use mercado::db::{Backend, DbConnection};
use mercado::models::{Category, Customer, Order, OrderItem, Product};
use mercado::schema::{categories, customers, order_items, orders, products};
use mercado::seed::generate::Shape;
use mercado::seed::{self, LoadMethod, SeedOptions};

use crate::helpers::TestDatabase;

const SMALL: Shape = Shape {
    customers: 150,
    orders_per_customer: 3,
    seed: 9,
};

fn options(reset: bool, method: LoadMethod) -> SeedOptions {
    SeedOptions {
        shape: SMALL,
        reset,
        method,
    }
}

/// Every row of every table, in id order.
#[derive(Debug, PartialEq)]
struct Snapshot {
    categories: Vec<Category>,
    products: Vec<Product>,
    customers: Vec<Customer>,
    orders: Vec<Order>,
    items: Vec<OrderItem>,
}

fn snapshot(conn: &mut DbConnection) -> Snapshot {
    Snapshot {
        categories: categories::table
            .select(Category::as_select())
            .order(categories::category_id)
            .load(conn)
            .unwrap(),
        products: products::table
            .select(Product::as_select())
            .order(products::product_id)
            .load(conn)
            .unwrap(),
        customers: customers::table
            .select(Customer::as_select())
            .order(customers::customer_id)
            .load(conn)
            .unwrap(),
        orders: orders::table
            .select(Order::as_select())
            .order(orders::order_id)
            .load(conn)
            .unwrap(),
        items: order_items::table
            .select(OrderItem::as_select())
            .order(order_items::order_item_id)
            .load(conn)
            .unwrap(),
    }
}

fn seeded(backend: Backend, method: LoadMethod) -> Option<(TestDatabase, Snapshot)> {
    let database = TestDatabase::create(backend)?;
    let mut conn = database.connect();
    let report = seed::seed(&mut conn, options(false, method), &ProgressBar::hidden()).unwrap();
    assert_eq!(report.rows("customers"), 150);
    assert_eq!(
        report.rows("orders"),
        450,
        "150 customers x 3 orders, exactly"
    );
    let snap = snapshot(&mut conn);
    drop(conn);
    Some((database, snap))
}

#[test]
fn the_same_arguments_give_identical_rows_on_both_backends_and_both_methods() {
    let Some((_pg, copied)) = seeded(Backend::Postgresql, LoadMethod::Copy) else {
        return;
    };
    let (_pg2, inserted) = seeded(Backend::Postgresql, LoadMethod::Insert).unwrap();
    let (_sqlite, sqlite) = seeded(Backend::Sqlite, LoadMethod::Insert).unwrap();

    assert_eq!(copied.orders.len(), 450, "N x M orders in all");
    assert_eq!(copied, inserted, "COPY and INSERT load the same rows");
    assert_eq!(
        copied, sqlite,
        "PostgreSQL and SQLite hold the same rows, ids included"
    );
}

both_backends! {
    fn reset_empties_the_shop_and_restarts_the_ids(app) {
        app.create_customer("Before", "Seed", "before@example.com");
        let mut conn = app.conn();
        let method = LoadMethod::fastest_for(app.backend);
        seed::seed(&mut conn, options(false, method), &ProgressBar::hidden()).unwrap();
        let first = snapshot(&mut conn);

        seed::seed(&mut conn, options(true, method), &ProgressBar::hidden()).unwrap();
        let again = snapshot(&mut conn);

        assert_eq!(first.customers[0].email, "before@example.com");
        assert_eq!(again.customers[0].customer_id, 1, "ids restart at 1");
        assert_eq!(again.customers.len(), first.customers.len() - 1, "the API-made customer is gone");
        assert_eq!(again.categories[0].category_id, 1);
        assert_eq!(again.orders[0].order_id, 1);
    }

    fn seeding_again_appends_and_keeps_every_constraint(app) {
        let mut conn = app.conn();
        let method = LoadMethod::fastest_for(app.backend);
        seed::seed(&mut conn, options(false, method), &ProgressBar::hidden()).unwrap();
        let once = snapshot(&mut conn);
        seed::seed(&mut conn, options(false, method), &ProgressBar::hidden()).unwrap();
        let twice = snapshot(&mut conn);
        drop(conn);

        assert_eq!(twice.customers.len(), 2 * once.customers.len());
        assert_eq!(twice.items.len(), 2 * once.items.len());
        let last = once.customers.last().unwrap().customer_id;
        assert_eq!(twice.customers[once.customers.len()].customer_id, last + 1, "ids continue");
        // The API's own inserts continue after the seeded ids (PostgreSQL's sequences were moved).
        let id = app.create_customer("After", "Seed", "after.seed@example.com");
        assert_eq!(id, 2 * last + 1);
        assert_eq!(app.create_category("After", None), twice.categories.last().unwrap().category_id + 1);
        assert_eq!(app.get(&format!("/customers/{}/orders", twice.orders[0].customer_id)).status, 200);
    }

    fn the_demo_shop_loads_into_an_empty_database_only(app) {
        let mut conn = app.conn();

        let first = seed::seed_demo_if_empty(&mut conn).unwrap();
        let second = seed::seed_demo_if_empty(&mut conn).unwrap();
        drop(conn);

        let first = first.expect("seeded an empty shop");
        assert_eq!(first.rows("customers"), 300);
        assert_eq!(first.rows("orders"), 1_200, "300 customers x 4 orders");
        assert!(second.is_none(), "a shop with customers is left alone");
        let page = app.get("/customers").json();
        assert_eq!(page["items"].as_array().unwrap().len(), 50);
        assert_eq!(app.count("customers"), 300);
    }

    fn the_seeded_shop_is_usable_through_the_api(app) {
        seed::seed(&mut app.conn(), options(false, LoadMethod::fastest_for(app.backend)), &ProgressBar::hidden()).unwrap();

        let orders = app.get("/orders?limit=500");
        let first = &orders.json()["items"][0];

        assert_eq!(orders.status, 200);
        assert!(!first["items"].as_array().unwrap().is_empty());
        assert_eq!(orders.query_count(), 2);
        let statuses: std::collections::BTreeSet<String> = orders.json()["items"].as_array().unwrap()
            .iter().map(|o| o["status"].as_str().unwrap().to_string()).collect();
        assert!(statuses.contains("delivered") && statuses.contains("cancelled"), "{statuses:?}");
    }
}

#[test]
fn copy_is_refused_on_sqlite() {
    let database = TestDatabase::create(Backend::Sqlite).unwrap();
    let err = seed::seed(
        &mut database.connect(),
        options(false, LoadMethod::Copy),
        &ProgressBar::hidden(),
    );
    assert!(matches!(err, Err(seed::SeedError::CopyNeedsPostgres)));
}
