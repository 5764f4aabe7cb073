//! The N+1 lesson: one dashboard computed four ways, side by side.
//!
//! The textbook's worked scenario: a page that lists customers with their order count and total
//! spend was fast with ten test customers and took 30 seconds in production, because it ran one
//! query per customer and one more per order. Every function below returns exactly the same
//! rows; what differs is how many statements it sends, which `X-Query-Count` shows:
//!
//! | strategy | statements for N customers holding O orders |
//! |---|---|
//! | [`n_plus_one`] | 1 + N + O |
//! | [`batched`] | 3 (2 if the customers have no orders, 1 for an empty page), plus one per extra chunk |
//! | [`joined`] | 1 |
//! | [`aggregate`] | 1 |
//!
//! SQLAlchemy hides the N+1 behind lazy loading: `customer.orders` looks like an attribute and
//! fires a query. Diesel has no lazy loading, so its N+1 can only be written as a visible loop
//! of `.load(conn)` calls, which is what [`n_plus_one`] does on purpose.
//!
//! Each statement is built by a small function that returns the query as a value (a
//! [`Statement`]): the strategies load it, and `/_debug/explain/{strategy}` wraps the very same
//! value in `EXPLAIN` (see `crate::explain`), so the plans shown are the plans of these queries.

use diesel::prelude::*;
use diesel::query_builder::{QueryFragment, QueryId};
use diesel::query_dsl::LoadQuery;
use diesel::sql_types::BigInt;
use serde::Serialize;

use crate::db::{self, DbConnection, MultiBackend};
use crate::models::{Customer, Order, OrderItem, OrderStatus, Page};
use crate::schema::{customers, order_items, orders};

/// One row of the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, QueryableByName, utoipa::ToSchema)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct DashboardRow {
    #[diesel(sql_type = BigInt)]
    pub customer_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub first_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub last_name: String,
    /// Every order, cancelled ones included.
    #[diesel(sql_type = BigInt)]
    pub order_count: i64,
    /// The line totals of the orders that are not cancelled.
    #[diesel(sql_type = BigInt)]
    pub total_spend_cents: i64,
}

/// The four strategies, by their URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "kebab-case")]
pub enum Strategy {
    NPlusOne,
    Batched,
    Joined,
    Aggregate,
}

impl Strategy {
    pub const ALL: [Strategy; 4] = [
        Strategy::NPlusOne,
        Strategy::Batched,
        Strategy::Joined,
        Strategy::Aggregate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::NPlusOne => "n-plus-one",
            Strategy::Batched => "batched",
            Strategy::Joined => "joined",
            Strategy::Aggregate => "aggregate",
        }
    }

    pub fn parse(name: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Runs this strategy for one page of customers.
    pub fn run(self, conn: &mut DbConnection, page: Page) -> QueryResult<Vec<DashboardRow>> {
        match self {
            Strategy::NPlusOne => n_plus_one(conn, page),
            Strategy::Batched => batched(conn, page),
            Strategy::Joined => joined(conn, page),
            Strategy::Aggregate => aggregate(conn, page),
        }
    }
}

/// One of the dashboard's statements, as a value: a query Diesel can send on the shop's
/// connection and load into `T`. (The bounds are what `.load(conn)` and `EXPLAIN` need; the
/// builders below only say "a statement that loads `T`".)
pub trait Statement<'a, T>:
    RunQueryDsl<DbConnection> + LoadQuery<'a, DbConnection, T> + QueryFragment<MultiBackend> + QueryId
{
}

impl<'a, T, Q> Statement<'a, T> for Q where
    Q: RunQueryDsl<DbConnection>
        + LoadQuery<'a, DbConnection, T>
        + QueryFragment<MultiBackend>
        + QueryId
{
}

/// The page of customers every strategy starts from:
/// `SELECT ... FROM customers WHERE customer_id > $1 ORDER BY customer_id LIMIT $2`.
pub fn customer_page(page: Page) -> impl Statement<'static, Customer> {
    customers::table
        .select(Customer::as_select())
        .filter(customers::customer_id.gt(page.after()))
        .order(customers::customer_id)
        .limit(page.limit())
}

/// One customer's orders: `Order::belonging_to(customer)` is `WHERE customer_id = $1`.
pub fn orders_of_customer(customer: &Customer) -> impl Statement<'_, Order> {
    Order::belonging_to(customer)
        .select(Order::as_select())
        .order(orders::order_id)
}

/// One order's items: `WHERE order_id = $1`.
pub fn items_of_order(order: &Order) -> impl Statement<'_, OrderItem> {
    OrderItem::belonging_to(order).select(OrderItem::as_select())
}

/// The orders of a whole slice of customers: `WHERE customer_id IN (?, ?, ...)` on SQLite,
/// `= ANY($1)` (one array parameter) on PostgreSQL.
pub fn orders_of(customers: &[Customer]) -> impl Statement<'_, Order> {
    Order::belonging_to(customers)
        .select(Order::as_select())
        .order(orders::order_id)
}

/// The items of a whole slice of orders.
pub fn items_of(orders: &[Order]) -> impl Statement<'_, OrderItem> {
    OrderItem::belonging_to(orders).select(OrderItem::as_select())
}

/// One row of [`joined`]'s flat result: a customer, one of its orders (if any), one of that
/// order's items (if any).
pub type JoinedRow = (
    i64,
    String,
    String,
    Option<(i64, OrderStatus)>,
    Option<(i32, i64)>,
);

/// Customers, orders and items in one `LEFT JOIN`, for [`joined`].
pub fn customers_with_orders_and_items(page: Page) -> impl Statement<'static, JoinedRow> {
    // The subquery reads `customers` too, so it needs an alias: SQL would accept the same name
    // twice, but Diesel checks at compile time that every column names a table it can tell apart.
    let page_customers = diesel::alias!(customers as page_customers);
    let page_id = page_customers.field(customers::customer_id);
    let page_ids = page_customers
        .select(page_id)
        .filter(page_id.gt(page.after()))
        .order(page_id)
        .limit(page.limit());
    customers::table
        .left_join(orders::table.on(orders::customer_id.eq(customers::customer_id)))
        .left_join(order_items::table.on(order_items::order_id.eq(orders::order_id)))
        .filter(customers::customer_id.eq_any(page_ids))
        .select((
            customers::customer_id,
            customers::first_name,
            customers::last_name,
            (orders::order_id, orders::status).nullable(),
            (order_items::quantity, order_items::unit_price_cents).nullable(),
        ))
        .order((customers::customer_id, orders::order_id))
}

/// The hand-written `GROUP BY` of [`aggregate`], its inputs bound.
pub fn dashboard_in_sql(page: Page) -> impl Statement<'static, DashboardRow> {
    diesel::sql_query(include_str!("reports/dashboard_aggregate.sql"))
        .bind::<BigInt, _>(page.after())
        .bind::<BigInt, _>(page.limit())
}

/// Sums what [`DashboardRow`] reports from a customer's orders, each with its items.
fn row(customer: &Customer, orders: &[(Order, Vec<OrderItem>)]) -> DashboardRow {
    let spend = orders
        .iter()
        .filter(|(order, _)| order.status != OrderStatus::Cancelled)
        .flat_map(|(_, items)| items)
        .map(|item| i64::from(item.quantity) * item.unit_price_cents)
        .sum();
    DashboardRow {
        customer_id: customer.customer_id,
        first_name: customer.first_name.clone(),
        last_name: customer.last_name.clone(),
        order_count: orders.len() as i64,
        total_spend_cents: spend,
    }
}

/// DELIBERATELY BAD: this is the N+1 the lesson is about. Do not copy it; see [`batched`].
///
/// ```sql
/// SELECT ... FROM customers WHERE customer_id > $1 ORDER BY customer_id LIMIT $2  -- 1
/// SELECT ... FROM orders WHERE customer_id = $1                                 -- N times
/// SELECT ... FROM order_items WHERE order_id = $1                               -- O times
/// ```
///
/// 1 + N + O statements: 51 for 50 customers without orders, thousands for a page of regular
/// customers. Each is a round trip, and each is cheap, which is why it hides so well in
/// development and hurts in production. The service's N+1 detector flags this route.
pub fn n_plus_one(conn: &mut DbConnection, page: Page) -> QueryResult<Vec<DashboardRow>> {
    let customers: Vec<Customer> = customer_page(page).load(conn)?;
    let mut rows = Vec::with_capacity(customers.len());
    for customer in &customers {
        let orders: Vec<Order> = orders_of_customer(customer).load(conn)?;
        let mut with_items = Vec::with_capacity(orders.len());
        for order in orders {
            let items: Vec<OrderItem> = items_of_order(&order).load(conn)?;
            with_items.push((order, items));
        }
        rows.push(row(customer, &with_items));
    }
    Ok(rows)
}

/// The fix SQLAlchemy calls `selectinload`: load each level for the whole page at once.
///
/// ```sql
/// SELECT ... FROM customers WHERE customer_id > $1 ORDER BY customer_id LIMIT $2
/// SELECT ... FROM orders WHERE customer_id IN (?, ?, ...)      -- PostgreSQL: = ANY($1)
/// SELECT ... FROM order_items WHERE order_id IN (?, ?, ...)    -- PostgreSQL: = ANY($1)
/// ```
///
/// Three statements whatever the page size: two when the customers have no orders, one when
/// the page is empty. `belonging_to(&slice)` builds the `IN` list from the parents' ids, and
/// `grouped_by(&slice)` hands the children back as one `Vec` per parent, in the slice's order.
///
/// On SQLite each id is a bind parameter, and a statement may carry at most 32,766; a longer
/// list (a 5,000-customer page can hold more orders than that) is split, one statement per
/// extra chunk. PostgreSQL sends the list as one array parameter and never splits.
pub fn batched(conn: &mut DbConnection, page: Page) -> QueryResult<Vec<DashboardRow>> {
    let customers: Vec<Customer> = customer_page(page).load(conn)?;
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let chunk = db::max_id_list(conn.backend());
    let mut orders: Vec<Order> = Vec::new();
    for part in customers.chunks(chunk) {
        orders.extend(orders_of(part).load(conn)?);
    }
    let mut items: Vec<OrderItem> = Vec::new();
    for part in orders.chunks(chunk) {
        items.extend(items_of(part).load(conn)?);
    }
    // Zip each grouping with the very slice it was grouped by: the groups come back in its
    // order, one per element.
    let items_per_order: Vec<Vec<OrderItem>> = items.grouped_by(&orders);
    let orders_with_items: Vec<(Order, Vec<OrderItem>)> =
        orders.into_iter().zip(items_per_order).collect();
    let per_customer: Vec<Vec<(Order, Vec<OrderItem>)>> = orders_with_items.grouped_by(&customers);
    Ok(customers
        .iter()
        .zip(per_customer)
        .map(|(customer, orders)| row(customer, &orders))
        .collect())
}

/// The fix SQLAlchemy calls `joinedload`: one query, every level joined, folded in Rust.
///
/// ```sql
/// SELECT c.customer_id, c.first_name, c.last_name, o.order_id, o.status,
///        oi.quantity, oi.unit_price_cents
///   FROM customers c
///   LEFT JOIN orders o ON o.customer_id = c.customer_id
///   LEFT JOIN order_items oi ON oi.order_id = o.order_id
///  WHERE c.customer_id IN (SELECT page_customers.customer_id FROM customers AS page_customers
///                           WHERE ... > $1 ORDER BY ... LIMIT $2)
///  ORDER BY c.customer_id, o.order_id
/// ```
///
/// One statement. The page is chosen in a subquery so that `LIMIT` counts customers, not
/// joined rows. The price is width: each customer's name comes back once per item, which
/// is fine here and wasteful for wide parents with many children; `batched` sends each row
/// once.
pub fn joined(conn: &mut DbConnection, page: Page) -> QueryResult<Vec<DashboardRow>> {
    let rows: Vec<JoinedRow> = customers_with_orders_and_items(page).load(conn)?;

    // Fold the flat rows, which arrive sorted by customer then order: one DashboardRow per
    // run of one customer's rows, counting each order once however many item rows it spans.
    let folded = rows
        .chunk_by(|a, b| a.0 == b.0)
        .map(|customer_rows| {
            let (customer_id, first_name, last_name, _, _) = &customer_rows[0];
            let mut row = DashboardRow {
                customer_id: *customer_id,
                first_name: first_name.clone(),
                last_name: last_name.clone(),
                order_count: 0,
                total_spend_cents: 0,
            };
            let mut last_order_id = None;
            for (_, _, _, order, item) in customer_rows {
                let Some((order_id, status)) = order else {
                    continue; // a customer without orders: one row of NULLs
                };
                if last_order_id != Some(*order_id) {
                    row.order_count += 1;
                    last_order_id = Some(*order_id);
                }
                if let (Some((quantity, price)), true) = (item, *status != OrderStatus::Cancelled) {
                    row.total_spend_cents += i64::from(*quantity) * price;
                }
            }
            row
        })
        .collect();
    Ok(folded)
}

/// Let the database do the arithmetic: one hand-written `GROUP BY`, the same SQL text on both
/// backends (`src/reports/dashboard_aggregate.sql`).
///
/// One statement, and only the finished numbers cross the wire. This is raw SQL because the
/// DSL version (a grouped select with a conditional `SUM` over a limited subquery) is harder
/// to read than the SQL it would produce; the inputs are still bound parameters.
pub fn aggregate(conn: &mut DbConnection, page: Page) -> QueryResult<Vec<DashboardRow>> {
    dashboard_in_sql(page).load(conn)
}
