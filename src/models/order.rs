//! Orders and their items. Shows `belonging_to` + `grouped_by` for loading the items of a whole
//! page of orders in one more statement (Diesel's answer to SQLAlchemy's `selectinload`), and
//! placing an order as one transaction.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::prelude::*;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};

use crate::db::{self, DbConnection};
use crate::models::{now, rfc3339, Customer, Page};
use crate::per_backend;
use crate::schema::{order_items, orders, products};

/// The five states of an order and the moves between them, stored in `orders.status`.
///
/// A Rust enum that Diesel reads and writes as a column type: `AsExpression` lets it be bound
/// (`orders::status.eq(OrderStatus::Paid)`), `FromSqlRow` lets it be loaded into
/// `Order::status`, and the `ToSql` / `FromSql` impls below say how it travels as `Text`. A
/// value that is not one of the five cannot exist in Rust, so no code compares strings.
///
/// Stored as text with a `CHECK` listing the five values, not as a PostgreSQL `ENUM`: one schema
/// serves both backends (SQLite has no enum types), and adding a status is an ordinary
/// migration that replaces the `CHECK`, where `ALTER TYPE ... ADD VALUE` has rules of its own
/// (it cannot be removed again, and older PostgreSQL versions refused it inside a transaction).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    AsExpression,
    FromSqlRow,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ];

    /// The text stored in `orders.status` (the column's CHECK lists the same five).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// The status machine. Everything not listed, staying put included, is forbidden.
    pub fn can_move_to(self, to: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, to),
            (Pending, Paid)
                | (Pending, Cancelled)
                | (Paid, Shipped)
                | (Paid, Cancelled)
                | (Shipped, Delivered)
        )
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that is not one of the five statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an order status: use pending, paid, shipped, delivered or cancelled")]
pub struct UnknownStatus(pub String);

impl FromStr for OrderStatus {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<OrderStatus, UnknownStatus> {
        OrderStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| UnknownStatus(text.to_string()))
    }
}

/// Written as its text, on every backend that can write a `str` as `Text`: PostgreSQL, SQLite
/// and the `MultiBackend` that `DbConnection` derives (which hands the text on to whichever
/// backend is inside).
impl<DB> ToSql<Text, DB> for OrderStatus
where
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.as_str().to_sql(out)
    }
}

/// Read as text, then parsed. The column's `CHECK` means an unknown value can only come from
/// outside Mercado; it fails the load with a deserialization error rather than becoming a
/// status Mercado does not know.
impl<DB> FromSql<Text, DB> for OrderStatus
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<OrderStatus> {
        Ok(String::from_sql(bytes)?.parse()?)
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Associations)]
#[diesel(table_name = orders, primary_key(order_id), belongs_to(Customer))]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Order {
    pub order_id: i64,
    pub customer_id: i64,
    pub status: OrderStatus,
    pub placed_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Associations)]
#[diesel(table_name = order_items, primary_key(order_item_id), belongs_to(Order))]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct OrderItem {
    pub order_item_id: i64,
    pub order_id: i64,
    pub product_id: i64,
    pub quantity: i32,
    pub unit_price_cents: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = orders)]
struct NewOrder {
    customer_id: i64,
    status: OrderStatus,
    placed_at: NaiveDateTime,
}

/// `treat_none_as_default_value = false`: by default the derive wraps every field in an
/// `Option` ("`None` means DEFAULT"), and because any row of a batch *might* then need
/// `DEFAULT`, Diesel's SQLite backend inserts such a batch one row at a time. With plain
/// fields it writes one multi-row `INSERT ... VALUES (...), (...)`.
#[derive(Debug, Insertable)]
#[diesel(table_name = order_items, treat_none_as_default_value = false)]
struct NewOrderItem {
    order_id: i64,
    product_id: i64,
    quantity: i32,
    unit_price_cents: i64,
}

/// One line of an order being placed: which product, how many. The price is not the
/// client's to say: it is copied from the product.
#[derive(Debug, Clone, Copy)]
pub struct NewOrderLine {
    pub product_id: i64,
    pub quantity: i32,
}

/// The API's shape of an order: the row, its items, and the totals computed from them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = Order)]
pub struct OrderWithItems {
    pub order_id: i64,
    pub customer_id: i64,
    pub status: OrderStatus,
    #[serde(with = "rfc3339")]
    pub placed_at: NaiveDateTime,
    pub items: Vec<ItemLine>,
    pub total_cents: i64,
}

/// One line of an order as the API shows it: `unit_price_cents` is the price copied when the
/// order was placed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = OrderItem)]
pub struct ItemLine {
    pub order_item_id: i64,
    pub product_id: i64,
    pub quantity: i32,
    pub unit_price_cents: i64,
    pub line_total_cents: i64,
}

impl OrderWithItems {
    fn new(order: Order, items: Vec<OrderItem>) -> OrderWithItems {
        let items: Vec<ItemLine> = items
            .into_iter()
            .map(|item| ItemLine {
                order_item_id: item.order_item_id,
                product_id: item.product_id,
                quantity: item.quantity,
                unit_price_cents: item.unit_price_cents,
                line_total_cents: i64::from(item.quantity) * item.unit_price_cents,
            })
            .collect();
        OrderWithItems {
            order_id: order.order_id,
            customer_id: order.customer_id,
            status: order.status,
            placed_at: order.placed_at,
            total_cents: items.iter().map(|i| i.line_total_cents).sum(),
            items,
        }
    }
}

/// Why [`Order::place`] placed nothing. Placing is one transaction, so in every case no row
/// was written.
#[derive(Debug, thiserror::Error)]
pub enum PlaceOrderError {
    /// No customer has the order's `customer_id`.
    #[error("the customer does not exist")]
    UnknownCustomer,
    /// Some lines name products that do not exist: their positions in the list of lines.
    #[error("lines {0:?} name products that do not exist")]
    UnknownProducts(Vec<usize>),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Why [`Order::change_status`] or [`Order::bulk_change_status`] changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum StatusChangeError {
    /// The status machine ([`OrderStatus::can_move_to`]) forbids this move.
    #[error("orders cannot move from {from} to {to}")]
    Forbidden { from: OrderStatus, to: OrderStatus },
    /// Another request changed the order's status between this one's read and its write.
    #[error("the order changed status while the request ran")]
    Raced,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Filters of `GET /orders`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderFilter {
    pub customer_id: Option<i64>,
    pub status: Option<OrderStatus>,
}

impl Order {
    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Order>> {
        // A hot read: on the concrete connection (see `per_backend!`).
        per_backend!(conn, |c| orders::table
            .find(id)
            .select(Order::as_select())
            .first(c)
            .optional())
    }

    pub fn page(
        conn: &mut DbConnection,
        filter: OrderFilter,
        page: Page,
    ) -> QueryResult<Vec<Order>> {
        per_backend!(conn, |c| {
            let mut query = orders::table
                .select(Order::as_select())
                .filter(orders::order_id.gt(page.after))
                .order(orders::order_id)
                .limit(page.limit)
                .into_boxed();
            if let Some(customer_id) = filter.customer_id {
                query = query.filter(orders::customer_id.eq(customer_id));
            }
            if let Some(status) = filter.status {
                query = query.filter(orders::status.eq(status));
            }
            query.load(c)
        })
    }

    /// Every order of one customer, by id: `Order::belonging_to(&customer)` is
    /// `WHERE customer_id = $1`, derived from the `belongs_to(Customer)` above.
    pub fn of_customer(conn: &mut DbConnection, customer: &Customer) -> QueryResult<Vec<Order>> {
        Order::belonging_to(customer)
            .select(Order::as_select())
            .order(orders::order_id)
            .load(conn)
    }

    /// `GET /customers/{id}/orders`: the customer's orders with their items, in three
    /// statements however many orders there are (customer, orders, items); `None` when there
    /// is no such customer.
    pub fn of_customer_with_items(
        conn: &mut DbConnection,
        customer_id: i64,
    ) -> QueryResult<Option<Vec<OrderWithItems>>> {
        let Some(customer) = Customer::find(conn, customer_id)? else {
            return Ok(None);
        };
        let orders = Order::of_customer(conn, &customer)?;
        Order::with_items(conn, orders).map(Some)
    }

    /// Attaches the items to a list of orders with one extra statement, however many orders
    /// there are: `OrderItem::belonging_to(&orders)` filters on the orders' ids (SQLite:
    /// `WHERE order_id IN (?, ?, ...)`; PostgreSQL: `WHERE order_id = ANY($1)`, one array
    /// parameter), and `grouped_by(&orders)` sorts the items into one `Vec` per order, in the
    /// orders' order.
    ///
    /// On SQLite every id is a bind parameter and a statement may carry at most 32,766, so a
    /// longer list is loaded in chunks: one statement per chunk, never one per order.
    /// (PostgreSQL's single array parameter never needs splitting.)
    pub fn with_items(
        conn: &mut DbConnection,
        orders: Vec<Order>,
    ) -> QueryResult<Vec<OrderWithItems>> {
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        let mut items = Vec::new();
        for chunk in orders.chunks(db::max_id_list(conn.backend())) {
            items.extend(
                OrderItem::belonging_to(chunk)
                    .select(OrderItem::as_select())
                    .order(order_items::order_item_id)
                    .load(conn)?,
            );
        }
        // Zip with the very slice given to grouped_by: the groups come back in its order.
        let grouped = items.grouped_by(&orders);
        Ok(orders
            .into_iter()
            .zip(grouped)
            .map(|(order, items)| OrderWithItems::new(order, items))
            .collect())
    }

    /// One order with its items, or `None`.
    pub fn find_with_items(
        conn: &mut DbConnection,
        id: i64,
    ) -> QueryResult<Option<OrderWithItems>> {
        let Some(order) = Order::find(conn, id)? else {
            return Ok(None);
        };
        Ok(Order::with_items(conn, vec![order])?.pop())
    }

    /// Places an order: the unit of work the textbook's Session gives you, spelled out.
    ///
    /// Everything happens in one write transaction, in four statements however many lines:
    /// check the customer, load the products (one statement for all of them) to copy their
    /// current prices, insert the order, insert all its items in one multi-row `INSERT`. Any
    /// failure rolls the whole thing back, so a failed order leaves no `orders` row and no
    /// `order_items` row behind.
    pub fn place(
        conn: &mut DbConnection,
        customer_id: i64,
        lines: &[NewOrderLine],
    ) -> Result<OrderWithItems, PlaceOrderError> {
        db::write_transaction(conn, |conn| {
            if !Customer::exists(conn, customer_id)? {
                return Err(PlaceOrderError::UnknownCustomer);
            }
            let ids: Vec<i64> = lines.iter().map(|l| l.product_id).collect();
            let prices: HashMap<i64, i64> = products::table
                .filter(products::product_id.eq_any(&ids))
                .select((products::product_id, products::unit_price_cents))
                .load::<(i64, i64)>(conn)?
                .into_iter()
                .collect();
            // Each line with its product's current price, or the line's position if the
            // product does not exist.
            let mut priced = Vec::with_capacity(lines.len());
            let mut unknown = Vec::new();
            for (position, line) in lines.iter().enumerate() {
                match prices.get(&line.product_id) {
                    Some(&price) => priced.push((line, price)),
                    None => unknown.push(position),
                }
            }
            if !unknown.is_empty() {
                return Err(PlaceOrderError::UnknownProducts(unknown));
            }

            let order: Order = diesel::insert_into(orders::table)
                .values(NewOrder {
                    customer_id,
                    status: OrderStatus::Pending,
                    placed_at: now(),
                })
                .returning(orders::all_columns)
                .get_result(conn)?;
            let rows: Vec<NewOrderItem> = priced
                .into_iter()
                .map(|(line, unit_price_cents)| NewOrderItem {
                    order_id: order.order_id,
                    product_id: line.product_id,
                    quantity: line.quantity,
                    unit_price_cents,
                })
                .collect();
            // One multi-row INSERT ... RETURNING for all the lines. A batch insert does not go
            // through the MultiConnection, so it is written once and compiled per backend.
            let mut items: Vec<OrderItem> = per_backend!(conn, |c| {
                diesel::insert_into(order_items::table)
                    .values(&rows)
                    .returning(OrderItem::as_returning())
                    .get_results(c)
            })?;
            items.sort_by_key(|item| item.order_item_id);
            Ok(OrderWithItems::new(order, items))
        })
    }

    /// Moves an order to another status if the status machine allows it; `Ok(None)` when there
    /// is no such order.
    ///
    /// The `UPDATE` repeats the status it checked (`WHERE status = $from`), so a concurrent
    /// request that moved the order first makes this one change nothing and fail with
    /// [`StatusChangeError::Raced`], instead of both "winning".
    pub fn change_status(
        conn: &mut DbConnection,
        id: i64,
        to: OrderStatus,
    ) -> Result<Option<OrderWithItems>, StatusChangeError> {
        db::write_transaction(conn, |conn| {
            let Some(order) = Order::find(conn, id)? else {
                return Ok(None);
            };
            let from = order.status;
            if !from.can_move_to(to) {
                return Err(StatusChangeError::Forbidden { from, to });
            }
            let updated: Option<Order> =
                diesel::update(orders::table.find(id).filter(orders::status.eq(from)))
                    .set(orders::status.eq(to))
                    .returning(orders::all_columns)
                    .get_result(conn)
                    .optional()?;
            let Some(updated) = updated else {
                return Err(StatusChangeError::Raced);
            };
            Ok(Order::with_items(conn, vec![updated])?.pop())
        })
    }

    /// Moves every order in status `from` (placed before `before`, if given) to `to`, in one
    /// set-based statement: `UPDATE orders SET status = $to WHERE status = $from [AND
    /// placed_at < $before]`. Returns how many rows changed.
    ///
    /// The ORM way would load each order, change it, and save it: a million objects and a
    /// million `UPDATE`s. The database can do the whole move itself, in one pass over an index
    /// (`orders_status_placed_at_idx`). A move the status machine forbids is refused before
    /// any statement is sent.
    pub fn bulk_change_status(
        conn: &mut DbConnection,
        from: OrderStatus,
        to: OrderStatus,
        before: Option<NaiveDateTime>,
    ) -> Result<usize, StatusChangeError> {
        if !from.can_move_to(to) {
            return Err(StatusChangeError::Forbidden { from, to });
        }
        let matching = orders::table.filter(orders::status.eq(from));
        let updated = match before {
            Some(before) => diesel::update(matching.filter(orders::placed_at.lt(before)))
                .set(orders::status.eq(to))
                .execute(conn)?,
            None => diesel::update(matching)
                .set(orders::status.eq(to))
                .execute(conn)?,
        };
        Ok(updated)
    }

    /// Deletes an order; its items go with it (`ON DELETE CASCADE`). `false` when there was none.
    pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
        let deleted = diesel::delete(orders::table.find(id)).execute(conn)?;
        Ok(deleted == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_machine_allows_exactly_five_moves() {
        let allowed: Vec<(OrderStatus, OrderStatus)> = OrderStatus::ALL
            .into_iter()
            .flat_map(|from| OrderStatus::ALL.into_iter().map(move |to| (from, to)))
            .filter(|(from, to)| from.can_move_to(*to))
            .collect();
        use OrderStatus::*;
        assert_eq!(
            allowed,
            vec![
                (Pending, Paid),
                (Pending, Cancelled),
                (Paid, Shipped),
                (Paid, Cancelled),
                (Shipped, Delivered)
            ]
        );
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for status in OrderStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{status}\"")
            );
        }
        assert_eq!(
            "Pending".parse::<OrderStatus>(),
            Err(UnknownStatus("Pending".to_string()))
        );
    }
}
