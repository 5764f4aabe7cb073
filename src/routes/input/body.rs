//! JSON bodies. Each is read into a `Raw*` struct (plain strings and numbers; an unknown field
//! is a 400 through `deny_unknown_fields`: a client that misspells a field should hear about
//! it), then checked rule by rule; every broken rule is listed in one 422.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use super::{Email, Name, Parse, ProductName, Rules, Sku, Text};
use crate::error::ApiError;
use crate::models::{CategoryChanges, CustomerChanges, NewOrderLine, OrderStatus, ProductChanges};

/// A reference to another row in a body: ids are positive.
fn id(value: i64) -> Result<i64, &'static str> {
    if value >= 1 {
        Ok(value)
    } else {
        Err("must be a positive id")
    }
}

/// A whole number within `min..=max`.
fn in_range(value: i64, min: i64, max: i64) -> Result<i64, String> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be between {min} and {max}"))
    }
}

/// For PATCH bodies: a field that is absent stays `None` (serde's `default`), a field that is
/// present becomes `Some(value)`. With `T = Option<i64>`, `"parent_id": null` is thus
/// `Some(None)` ("set to NULL"), distinct from leaving `parent_id` out. With `T = String`,
/// `"name": null` is refused as a wrong type (400), not silently ignored.
fn present<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A new customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CustomerInput)]
pub struct RawCustomer {
    /// Trimmed; 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, example = "Alice")]
    first_name: String,
    /// Trimmed; 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, example = "Nguyen")]
    last_name: String,
    /// Stored lower-cased; unique whatever its case.
    #[schema(format = Email, max_length = 254, example = "alice.nguyen@example.com")]
    email: String,
}

/// The body of `POST /customers`, and one element of `POST /customers/bulk`.
#[derive(Debug, Clone)]
pub struct CustomerForm {
    pub first_name: Name,
    pub last_name: Name,
    pub email: Email,
}

impl CustomerForm {
    /// Checks one customer, naming its fields `{prefix}first_name` and so on.
    fn check(raw: &RawCustomer, prefix: &str, rules: &mut Rules) -> Option<CustomerForm> {
        let first_name = rules.check(format!("{prefix}first_name"), Name::parse(&raw.first_name));
        let last_name = rules.check(format!("{prefix}last_name"), Name::parse(&raw.last_name));
        let email = rules.check(format!("{prefix}email"), Email::parse(&raw.email));
        Some(CustomerForm {
            first_name: first_name?,
            last_name: last_name?,
            email: email?,
        })
    }
}

impl Parse for CustomerForm {
    type Raw = RawCustomer;
    fn parse(raw: RawCustomer) -> Result<CustomerForm, ApiError> {
        let mut rules = Rules::default();
        let form = CustomerForm::check(&raw, "", &mut rules);
        rules.finish(|| form)
    }
}

/// The most customers one `POST /customers/bulk` may carry.
pub const MAX_BULK: usize = 10_000;

/// The body of `POST /customers/bulk`: 1..=[`MAX_BULK`] valid customers, each broken rule
/// named by position (`[17].email`).
#[derive(Debug, Clone)]
pub struct CustomerBatch(pub Vec<CustomerForm>);

impl Parse for CustomerBatch {
    type Raw = Vec<RawCustomer>;
    fn parse(raw: Vec<RawCustomer>) -> Result<CustomerBatch, ApiError> {
        if raw.is_empty() || raw.len() > MAX_BULK {
            return Err(ApiError::unprocessable(
                "body",
                format!("must hold between 1 and {MAX_BULK} customers"),
            ));
        }
        let mut rules = Rules::default();
        let forms: Vec<Option<CustomerForm>> = raw
            .iter()
            .enumerate()
            .map(|(i, customer)| CustomerForm::check(customer, &format!("[{i}]."), &mut rules))
            .collect();
        rules.finish(|| {
            forms
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(CustomerBatch)
        })
    }
}

/// Any subset of a customer's fields; only those given change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CustomerPatch)]
pub struct RawCustomerPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 1, max_length = 100)]
    first_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 1, max_length = 100)]
    last_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, format = Email, max_length = 254)]
    email: Option<String>,
}

/// `PATCH /customers/{id}`: any subset of the fields, each under the rules of `POST`.
impl Parse for CustomerChanges {
    type Raw = RawCustomerPatch;
    fn parse(raw: RawCustomerPatch) -> Result<CustomerChanges, ApiError> {
        let mut rules = Rules::default();
        let first_name = raw
            .first_name
            .and_then(|v| rules.check("first_name", Name::parse(&v)));
        let last_name = raw
            .last_name
            .and_then(|v| rules.check("last_name", Name::parse(&v)));
        let email = raw
            .email
            .and_then(|v| rules.check("email", Email::parse(&v)));
        rules.finish(|| {
            Some(CustomerChanges {
                first_name: first_name.map(Text::into_string),
                last_name: last_name.map(Text::into_string),
                email: email.map(Email::into_string),
            })
        })
    }
}

/// A new category, a root unless it names a parent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CategoryInput)]
pub struct RawCategory {
    /// Trimmed; 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, example = "Phones")]
    name: String,
    /// An existing category.
    #[serde(default)]
    #[schema(minimum = 1, example = 1)]
    parent_id: Option<i64>,
}

/// The body of `POST /categories`.
#[derive(Debug, Clone)]
pub struct CategoryForm {
    pub name: Name,
    pub parent_id: Option<i64>,
}

impl Parse for CategoryForm {
    type Raw = RawCategory;
    fn parse(raw: RawCategory) -> Result<CategoryForm, ApiError> {
        let mut rules = Rules::default();
        let name = rules.check("name", Name::parse(&raw.name));
        // Outer `None`: the given parent broke a rule. `Some(None)`: no parent, a root.
        let parent_id = match raw.parent_id {
            Some(parent_id) => rules.check("parent_id", id(parent_id)).map(Some),
            None => Some(None),
        };
        rules.finish(|| {
            Some(CategoryForm {
                name: name?,
                parent_id: parent_id?,
            })
        })
    }
}

/// A new name, a new parent, or both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CategoryPatch)]
pub struct RawCategoryPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 1, max_length = 100)]
    name: Option<String>,
    /// Absent: unchanged. `null`: becomes a root. A number: moves under that category.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    parent_id: Option<Option<i64>>,
}

/// `PATCH /categories/{id}`.
impl Parse for CategoryChanges {
    type Raw = RawCategoryPatch;
    fn parse(raw: RawCategoryPatch) -> Result<CategoryChanges, ApiError> {
        let mut rules = Rules::default();
        let name = raw.name.and_then(|v| rules.check("name", Name::parse(&v)));
        if let Some(Some(parent_id)) = raw.parent_id {
            rules.check("parent_id", id(parent_id));
        }
        rules.finish(|| {
            Some(CategoryChanges {
                name: name.map(Text::into_string),
                parent_id: raw.parent_id,
            })
        })
    }
}

/// The contract's price range: 0 to one million in currency units.
pub const MAX_PRICE_CENTS: i64 = 100_000_000;

/// A new product.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ProductInput)]
pub struct RawProduct {
    /// Unique; trimmed, 1 to 64 characters.
    #[schema(min_length = 1, max_length = 64, example = "EL-0001")]
    sku: String,
    /// Trimmed; 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, example = "USB-C cable")]
    name: String,
    /// An existing category.
    #[schema(minimum = 1, example = 1)]
    category_id: i64,
    #[schema(minimum = 0, maximum = 100000000, example = 1299)]
    unit_price_cents: i64,
}

/// The body of `POST /products`.
#[derive(Debug, Clone)]
pub struct ProductForm {
    pub sku: Sku,
    pub name: ProductName,
    pub category_id: i64,
    pub unit_price_cents: i64,
}

impl Parse for ProductForm {
    type Raw = RawProduct;
    fn parse(raw: RawProduct) -> Result<ProductForm, ApiError> {
        let mut rules = Rules::default();
        let sku = rules.check("sku", Sku::parse(&raw.sku));
        let name = rules.check("name", ProductName::parse(&raw.name));
        let category_id = rules.check("category_id", id(raw.category_id));
        let unit_price_cents = rules.check(
            "unit_price_cents",
            in_range(raw.unit_price_cents, 0, MAX_PRICE_CENTS),
        );
        rules.finish(|| {
            Some(ProductForm {
                sku: sku?,
                name: name?,
                category_id: category_id?,
                unit_price_cents: unit_price_cents?,
            })
        })
    }
}

/// Any subset of a product's fields. A new price never changes existing orders.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ProductPatch)]
pub struct RawProductPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 1, max_length = 64)]
    sku: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, minimum = 1)]
    category_id: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, minimum = 0, maximum = 100000000)]
    unit_price_cents: Option<i64>,
}

/// `PATCH /products/{id}`.
impl Parse for ProductChanges {
    type Raw = RawProductPatch;
    fn parse(raw: RawProductPatch) -> Result<ProductChanges, ApiError> {
        let mut rules = Rules::default();
        let sku = raw.sku.and_then(|v| rules.check("sku", Sku::parse(&v)));
        let name = raw
            .name
            .and_then(|v| rules.check("name", ProductName::parse(&v)));
        let category_id = raw
            .category_id
            .and_then(|v| rules.check("category_id", id(v)));
        let unit_price_cents = raw
            .unit_price_cents
            .and_then(|v| rules.check("unit_price_cents", in_range(v, 0, MAX_PRICE_CENTS)));
        rules.finish(|| {
            Some(ProductChanges {
                sku: sku.map(Text::into_string),
                name: name.map(Text::into_string),
                category_id,
                unit_price_cents,
            })
        })
    }
}

/// Most lines one order may have. Not in the contract: it keeps a single order's statements
/// well inside every backend's bind-parameter limit; real carts are far smaller.
pub const MAX_ORDER_LINES: usize = 1000;
/// The contract's range for one line's quantity is 1 to this (the schema's CHECK says the same).
pub const MAX_QUANTITY: i32 = 1000;

/// One line's quantity, which fits the column's `i32` once it is in range.
fn quantity(value: i64) -> Result<i32, String> {
    match i32::try_from(value) {
        Ok(quantity) if (1..=MAX_QUANTITY).contains(&quantity) => Ok(quantity),
        _ => Err(format!("must be between 1 and {MAX_QUANTITY}")),
    }
}

/// An order to place: a customer and one line per product.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = OrderInput)]
pub struct RawOrder {
    /// An existing customer.
    #[schema(minimum = 1, example = 1)]
    customer_id: i64,
    /// Each product at most once.
    #[schema(min_items = 1, max_items = 1000)]
    items: Vec<RawOrderLine>,
}

/// One line of an order to place; the price is copied from the product.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = OrderLineInput)]
pub struct RawOrderLine {
    /// An existing product.
    #[schema(minimum = 1, example = 1)]
    product_id: i64,
    #[schema(minimum = 1, maximum = 1000, example = 2)]
    quantity: i64,
}

/// The body of `POST /orders`: 1..=[`MAX_ORDER_LINES`] lines, each product at most once, each
/// quantity in 1..=[`MAX_QUANTITY`].
#[derive(Debug, Clone)]
pub struct OrderForm {
    pub customer_id: i64,
    pub lines: Vec<NewOrderLine>,
}

impl Parse for OrderForm {
    type Raw = RawOrder;
    fn parse(raw: RawOrder) -> Result<OrderForm, ApiError> {
        let mut rules = Rules::default();
        let customer_id = rules.check("customer_id", id(raw.customer_id));
        if raw.items.is_empty() {
            rules.fail("items", "must list at least one product");
        } else if raw.items.len() > MAX_ORDER_LINES {
            rules.fail(
                "items",
                format!("must list at most {MAX_ORDER_LINES} products"),
            );
        }
        let mut seen = HashSet::new();
        let lines: Vec<Option<NewOrderLine>> = raw
            .items
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let product_id = rules.check(format!("items[{i}].product_id"), id(line.product_id));
                if !seen.insert(line.product_id) {
                    rules.fail(
                        format!("items[{i}].product_id"),
                        "is listed twice: give one line per product with its quantity",
                    );
                }
                let quantity = rules.check(format!("items[{i}].quantity"), quantity(line.quantity));
                Some(NewOrderLine {
                    product_id: product_id?,
                    quantity: quantity?,
                })
            })
            .collect();
        rules.finish(|| {
            Some(OrderForm {
                customer_id: customer_id?,
                lines: lines.into_iter().collect::<Option<_>>()?,
            })
        })
    }
}

/// The status to move an order to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StatusInput)]
pub struct RawStatusChange {
    #[schema(value_type = OrderStatus)]
    status: String,
}

/// The body of `PATCH /orders/{id}`: the status to move to. An unknown status reads fine as a
/// string, so it is a 422, not a 400.
#[derive(Debug, Clone, Copy)]
pub struct StatusChange {
    pub to: OrderStatus,
}

const STATUS_RULE: &str = "must be one of pending, paid, shipped, delivered, cancelled";

impl Parse for StatusChange {
    type Raw = RawStatusChange;
    fn parse(raw: RawStatusChange) -> Result<StatusChange, ApiError> {
        let to = raw
            .status
            .parse()
            .map_err(|_| ApiError::unprocessable("status", STATUS_RULE))?;
        Ok(StatusChange { to })
    }
}

/// Move every order in one status (optionally placed before a time) to another.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = BulkStatusInput)]
pub struct RawBulkStatus {
    #[schema(value_type = OrderStatus)]
    from_status: String,
    #[schema(value_type = OrderStatus)]
    to_status: String,
    /// RFC 3339, e.g. `2025-06-01T00:00:00Z`; any offset is converted to UTC.
    #[serde(default)]
    #[schema(format = DateTime)]
    placed_before: Option<String>,
}

/// The body of `POST /orders/bulk-status`.
#[derive(Debug, Clone, Copy)]
pub struct BulkStatusChange {
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub placed_before: Option<NaiveDateTime>,
}

impl Parse for BulkStatusChange {
    type Raw = RawBulkStatus;
    fn parse(raw: RawBulkStatus) -> Result<BulkStatusChange, ApiError> {
        let mut rules = Rules::default();
        let mut status = |field: &str, text: &str| {
            rules.check(field, text.parse::<OrderStatus>().map_err(|_| STATUS_RULE))
        };
        let from = status("from_status", &raw.from_status);
        let to = status("to_status", &raw.to_status);
        // Outer `None`: the given time broke the rule. `Some(None)`: no time given.
        let placed_before = match raw.placed_before {
            Some(text) => rules
                .check(
                    "placed_before",
                    chrono::DateTime::parse_from_rfc3339(&text)
                        .map(|at| at.naive_utc())
                        .map_err(|_| "must be an RFC 3339 timestamp"),
                )
                .map(Some),
            None => Some(None),
        };
        rules.finish(|| {
            Some(BulkStatusChange {
                from: from?,
                to: to?,
                placed_before: placed_before?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_reports_every_broken_rule_at_once() {
        let raw = RawOrder {
            customer_id: 0,
            items: vec![
                RawOrderLine {
                    product_id: 1,
                    quantity: 0,
                },
                RawOrderLine {
                    product_id: 1,
                    quantity: 2,
                },
            ],
        };
        let Err(ApiError::Unprocessable(errors)) = OrderForm::parse(raw) else {
            panic!("a 422");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["customer_id", "items[0].quantity", "items[1].product_id"]
        );
    }
}
