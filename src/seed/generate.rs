//! The deterministic shop generator: same options, same rows, on every machine and backend.
//!
//! Everything comes from one seeded [`SplitMix64`] stream, drawn in a fixed order. Ids are
//! assigned here too (continuing after the largest id already stored), which is what lets the
//! loader send every table with multi-row `INSERT`s or `COPY` without asking the database
//! which ids it handed out.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::models::OrderStatus;
use crate::schema::{categories, customers, order_items, orders, products};

/// A small, fast, well-understood PRNG (Steele, Lea and Flood's SplitMix64).
///
/// Written out rather than taken from a crate on purpose: the seed's output is part of the
/// contract ("same arguments, same rows"), and a crate is free to change its algorithm in a
/// minor release. These ten lines will not.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An integer in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        // Multiply-shift: unbiased enough for test data, and branch-free.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index drawn with the given relative weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut roll = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if roll < u64::from(*w) {
                return i;
            }
            roll -= u64::from(*w);
        }
        weights.len() - 1
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub customers: u64,
    /// Orders in all are `customers × orders_per_customer`, spread unevenly over the customers.
    pub orders_per_customer: u64,
    pub seed: u64,
}

/// The largest id of each table before seeding: generated ids continue after them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BaseIds {
    pub category: i64,
    pub product: i64,
    pub customer: i64,
    pub order: i64,
    pub order_item: i64,
}

// Row types with explicit ids. `treat_none_as_default_value = false` keeps each batch a single
// multi-row INSERT on SQLite and makes the rows usable by PostgreSQL's COPY (see models/order.rs).

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = categories, treat_none_as_default_value = false)]
pub struct CategoryRow {
    pub category_id: i64,
    pub name: &'static str,
    pub parent_id: Option<i64>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = products, treat_none_as_default_value = false)]
pub struct ProductRow {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub category_id: i64,
    pub unit_price_cents: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = customers, treat_none_as_default_value = false)]
pub struct CustomerRow {
    pub customer_id: i64,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub email: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = orders, treat_none_as_default_value = false)]
pub struct OrderRow {
    pub order_id: i64,
    pub customer_id: i64,
    pub status: OrderStatus,
    pub placed_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = order_items, treat_none_as_default_value = false)]
pub struct OrderItemRow {
    pub order_item_id: i64,
    pub order_id: i64,
    pub product_id: i64,
    pub quantity: i32,
    pub unit_price_cents: i64,
}

/// A whole generated shop, in insertion order (parents before children).
#[derive(Debug, Default)]
pub struct Dataset {
    pub categories: Vec<CategoryRow>,
    pub products: Vec<ProductRow>,
    pub customers: Vec<CustomerRow>,
    pub orders: Vec<OrderRow>,
    pub order_items: Vec<OrderItemRow>,
}

/// The last moment of the generated history. Fixed, so the same seed gives the same dates
/// whenever it runs.
pub fn history_end() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2025, 12, 31)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .expect("a valid date")
}

/// Orders are spread over the 24 months before [`history_end`].
const HISTORY_DAYS: i64 = 730;

/// Products per leaf category: 20 leaves × 15 = 300 products.
const PRODUCTS_PER_LEAF: usize = 15;

/// The share of customers who never ordered.
const NEVER_ORDERED: f64 = 0.10;

/// (root, SKU prefix, [(child, [(leaf, [product nouns], price range in cents)])])
type Leaf = (&'static str, &'static [&'static str], (i64, i64));
type Child = (&'static str, &'static [Leaf]);
// A data table, kept one leaf per line so it reads as a table; rustfmt would stack it into
// some four hundred lines.
#[rustfmt::skip]
const TREE: &[(&str, &str, &[Child])] = &[
    ("Electronics", "EL", &[
        ("Phones", &[
            ("Cases", &["case", "bumper", "wallet case", "clear case"], (900, 4_900)),
            ("Chargers", &["charger", "power bank", "charging cable", "car charger"], (1_200, 6_900)),
        ]),
        ("Computers", &[
            ("Laptops", &["laptop", "ultrabook", "notebook", "2-in-1 laptop"], (39_900, 249_900)),
            ("Accessories", &["keyboard", "mouse", "USB-C hub", "laptop stand"], (1_500, 12_900)),
        ]),
        ("Audio", &[
            ("Headphones", &["headphones", "earbuds", "headset", "earphones"], (1_900, 39_900)),
            ("Speakers", &["speaker", "soundbar", "smart speaker", "bookshelf speaker"], (2_900, 59_900)),
        ]),
    ]),
    ("Home", "HO", &[
        ("Kitchen", &[
            ("Cookware", &["frying pan", "saucepan", "stock pot", "wok"], (1_900, 18_900)),
            ("Utensils", &["spatula", "chef's knife", "whisk", "ladle"], (500, 9_900)),
        ]),
        ("Furniture", &[
            ("Chairs", &["desk chair", "armchair", "stool", "dining chair"], (4_900, 69_900)),
            ("Tables", &["coffee table", "desk", "side table", "dining table"], (7_900, 129_900)),
        ]),
    ]),
    ("Books", "BK", &[
        ("Fiction", &[
            ("Mystery", &["mystery novel", "detective story", "thriller", "crime anthology"], (799, 2_999)),
            ("Science Fiction", &["space opera", "cyberpunk novel", "time-travel novel", "short story collection"], (799, 2_999)),
        ]),
        ("Non-fiction", &[
            ("History", &["history of Rome", "biography", "atlas of empires", "war memoir"], (999, 4_999)),
            ("Science", &["physics primer", "field guide", "popular science book", "database textbook"], (999, 6_999)),
        ]),
    ]),
    ("Sports", "SP", &[
        ("Outdoor", &[
            ("Camping", &["tent", "sleeping bag", "camping stove", "headlamp"], (1_500, 39_900)),
            ("Cycling", &["bike helmet", "bike light", "water bottle", "bike lock"], (900, 14_900)),
        ]),
        ("Fitness", &[
            ("Yoga", &["yoga mat", "yoga block", "strap", "meditation cushion"], (900, 8_900)),
            ("Weights", &["dumbbell", "kettlebell", "weight plate", "resistance band"], (1_200, 19_900)),
        ]),
    ]),
    ("Clothing", "CL", &[
        ("Men", &[
            ("Shirts", &["oxford shirt", "t-shirt", "polo shirt", "flannel shirt"], (1_500, 8_900)),
            ("Shoes", &["sneakers", "boots", "loafers", "running shoes"], (3_900, 19_900)),
        ]),
    ]),
];

const ADJECTIVES: &[&str] = &[
    "Classic",
    "Compact",
    "Deluxe",
    "Essential",
    "Everyday",
    "Premium",
    "Pro",
    "Slim",
    "Sturdy",
    "Travel",
    "Ultra",
    "Vintage",
    "Eco",
    "Lite",
    "Max",
];
const COLOURS: &[&str] = &[
    "black", "white", "grey", "navy", "red", "green", "sand", "blue",
];

const FIRST_NAMES: &[&str] = &[
    "Alice",
    "Amara",
    "Ana",
    "Ben",
    "Carlos",
    "Chen",
    "Chloe",
    "Daniel",
    "David",
    "Elena",
    "Emma",
    "Fatima",
    "Felix",
    "Grace",
    "Hannah",
    "Hiro",
    "Ibrahim",
    "Isabel",
    "Jack",
    "James",
    "Jin",
    "Julia",
    "Kai",
    "Laura",
    "Leo",
    "Liam",
    "Lucia",
    "Maya",
    "Mei",
    "Mohammed",
    "Nadia",
    "Noah",
    "Nora",
    "Olivia",
    "Omar",
    "Priya",
    "Rafael",
    "Rosa",
    "Sam",
    "Sara",
    "Sofia",
    "Theo",
    "Tom",
    "Valentina",
    "Wei",
    "Yara",
    "Yusuf",
    "Zoe",
];

/// Drawn with weights falling off with rank, as real surnames do, so the textbook's
/// orders-per-last-name report has crowded names at the top.
const LAST_NAMES: &[&str] = &[
    "Nguyen", "Smith", "Garcia", "Kim", "Müller", "Rossi", "Silva", "Johnson", "Chen", "Patel",
    "Brown", "Martin", "Lopez", "Wang", "Kowalski", "Dubois", "Jansen", "Sato", "Ali", "Novak",
    "Andersen", "Costa", "Fischer", "Haddad", "Ivanova", "Jones", "Khan", "Larsen", "Moreau",
    "Okafor", "Park", "Quinn", "Reyes", "Schmidt", "Tanaka", "Usman", "Varga", "Weber", "Yilmaz",
    "Zhang",
];

/// Generates the whole dataset for `shape`, with ids continuing after `base`.
pub fn generate(shape: Shape, base: BaseIds) -> Dataset {
    let mut rng = SplitMix64::new(shape.seed);
    let mut data = Dataset::default();
    let leaves = generate_categories(&mut data, base);
    generate_products(&mut rng, &mut data, &leaves, base);
    generate_customers_and_orders(&mut rng, &mut data, shape, base);
    data
}

/// The leaves of the tree: (category id, product nouns, price range, SKU prefix).
type LeafInfo = (i64, &'static [&'static str], (i64, i64), &'static str);

/// The fixed three-level tree, ids in breadth-first order so parents precede children.
fn generate_categories(data: &mut Dataset, base: BaseIds) -> Vec<LeafInfo> {
    let mut next_id = base.category;
    let mut id = || {
        next_id += 1;
        next_id
    };
    let roots: Vec<i64> = TREE.iter().map(|_| id()).collect();
    let mut children = Vec::new();
    for ((name, _, kids), root_id) in TREE.iter().zip(&roots) {
        data.categories.push(CategoryRow {
            category_id: *root_id,
            name,
            parent_id: None,
        });
        for kid in kids.iter() {
            children.push((*root_id, kid));
        }
    }
    let child_ids: Vec<i64> = children.iter().map(|_| id()).collect();
    let mut leaves = Vec::new();
    for ((parent, (name, kid_leaves)), child_id) in children.iter().zip(&child_ids) {
        data.categories.push(CategoryRow {
            category_id: *child_id,
            name,
            parent_id: Some(*parent),
        });
        let prefix = TREE
            .iter()
            .zip(&roots)
            .find(|(_, root)| *root == parent)
            .map(|((_, prefix, _), _)| *prefix)
            .unwrap_or("XX");
        for (leaf_name, nouns, prices) in kid_leaves.iter() {
            leaves.push((*child_id, *leaf_name, *nouns, *prices, prefix));
        }
    }
    leaves
        .into_iter()
        .map(|(parent, name, nouns, prices, prefix)| {
            let leaf_id = id();
            data.categories.push(CategoryRow {
                category_id: leaf_id,
                name,
                parent_id: Some(parent),
            });
            (leaf_id, nouns, prices, prefix)
        })
        .collect()
}

fn generate_products(rng: &mut SplitMix64, data: &mut Dataset, leaves: &[LeafInfo], base: BaseIds) {
    let mut product_id = base.product;
    for (category_id, nouns, (low, high), prefix) in leaves {
        for _ in 0..PRODUCTS_PER_LEAF {
            product_id += 1;
            let name = format!(
                "{} {} {}",
                rng.pick(ADJECTIVES),
                rng.pick(COLOURS),
                rng.pick(nouns)
            );
            // Log-uniform within the range, then a shop's ...99 ending.
            let price = (*low as f64 * ((*high as f64 / *low as f64).powf(rng.unit()))) as i64;
            let price = (price / 100) * 100 + 99;
            data.products.push(ProductRow {
                product_id,
                // Unique because the id is: appending to a shop never collides.
                sku: format!("{prefix}-{product_id:06}"),
                name: capitalise(&name),
                category_id: *category_id,
                unit_price_cents: price,
            });
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An order before it has an id: orders get ids in the order they were placed.
struct Draft {
    customer_id: i64,
    placed_at: NaiveDateTime,
    status: OrderStatus,
    lines: Vec<(usize, i32)>,
}

fn generate_customers_and_orders(
    rng: &mut SplitMix64,
    data: &mut Dataset,
    shape: Shape,
    base: BaseIds,
) {
    let end = history_end();
    let start = end - Duration::days(HISTORY_DAYS);
    let last_name_weights: Vec<u32> = (1..=LAST_NAMES.len() as u32)
        .map(|rank| 1000 / rank)
        .collect();

    // First the customers, each with an appetite: how likely the next order is to be theirs.
    let mut appetites = Vec::with_capacity(shape.customers as usize);
    for n in 1..=shape.customers as i64 {
        let customer_id = base.customer + n;
        let first_name = *rng.pick(FIRST_NAMES);
        let last_name = LAST_NAMES[rng.weighted(&last_name_weights)];
        // Customers joined from six months before the history window to its end.
        let joined_span = (HISTORY_DAYS + 180) * 86_400;
        let created_at =
            start - Duration::days(180) + Duration::seconds(rng.below(joined_span as u64) as i64);
        data.customers.push(CustomerRow {
            customer_id,
            first_name,
            last_name,
            email: format!(
                "{}.{}.{customer_id}@example.com",
                ascii_lower(first_name),
                ascii_lower(last_name)
            ),
            created_at,
        });
        appetites.push(appetite(rng));
    }

    // Then exactly N x M orders, each given to a customer drawn in proportion to appetite.
    let total_orders = shape.customers.saturating_mul(shape.orders_per_customer);
    let owners = OrderOwners::new(&appetites);
    let mut drafts = Vec::with_capacity(total_orders as usize);
    for _ in 0..total_orders {
        let owner = owners.draw(rng);
        let customer = &data.customers[owner];
        let first_possible = customer.created_at.max(start);
        let window = (end - first_possible).num_seconds().max(1) as u64;
        let placed_at = first_possible + Duration::seconds(rng.below(window) as i64);
        let status = status_for_age(rng, (end - placed_at).num_days());
        let line_count = 1 + rng.weighted(&[18, 22, 22, 20, 18]);
        let mut lines: Vec<(usize, i32)> = Vec::with_capacity(line_count);
        while lines.len() < line_count {
            let product = rng.below(data.products.len() as u64) as usize;
            let quantity = 1 + rng.weighted(&[70, 20, 7, 2, 1]) as i32;
            if lines.iter().all(|(p, _)| *p != product) {
                lines.push((product, quantity));
            }
        }
        drafts.push(Draft {
            customer_id: customer.customer_id,
            placed_at,
            status,
            lines,
        });
    }

    // Ids follow time, as in a real shop. The sort is stable, so equal times keep draw order.
    drafts.sort_by_key(|d| d.placed_at);
    let mut order_item_id = base.order_item;
    for (n, draft) in drafts.into_iter().enumerate() {
        let order_id = base.order + 1 + n as i64;
        data.orders.push(OrderRow {
            order_id,
            customer_id: draft.customer_id,
            status: draft.status,
            placed_at: draft.placed_at,
        });
        for (product, quantity) in draft.lines {
            order_item_id += 1;
            let product = &data.products[product];
            data.order_items.push(OrderItemRow {
                order_item_id,
                order_id,
                product_id: product.product_id,
                quantity,
                unit_price_cents: product.unit_price_cents,
            });
        }
    }
}

/// A customer's share of the shop's orders, relative to the others: zero for the tenth who
/// never order, otherwise an exponential draw. With each order drawn in proportion to it, a
/// customer's count is geometric rather than Poisson: about a quarter of a shop have no order
/// at all, most have a few, and the busiest have several times the mean.
fn appetite(rng: &mut SplitMix64) -> f64 {
    if rng.unit() < NEVER_ORDERED {
        return 0.0;
    }
    -(1.0 - rng.unit()).ln()
}

/// Draws the customer of each order, in proportion to the appetites: a running sum of the
/// appetites and a binary search in it, so 100,000 orders over 20,000 customers cost
/// 100,000 × 15 comparisons.
struct OrderOwners {
    running: Vec<f64>,
}

impl OrderOwners {
    fn new(appetites: &[f64]) -> OrderOwners {
        // When nobody has an appetite (a tiny shop whose every customer drew zero), the orders
        // still have to go somewhere: everyone gets an equal share.
        let nobody = appetites.iter().all(|a| *a == 0.0);
        let mut sum = 0.0;
        let running = appetites
            .iter()
            .map(|a| {
                sum += if nobody { 1.0 } else { *a };
                sum
            })
            .collect();
        OrderOwners { running }
    }

    /// The index of the customer who placed the next order.
    fn draw(&self, rng: &mut SplitMix64) -> usize {
        let total = self.running.last().copied().unwrap_or(0.0);
        let roll = rng.unit() * total;
        // The first customer whose running sum passes the roll; a customer with no appetite
        // adds nothing to the sum, so no roll can land on them.
        let index = self.running.partition_point(|sum| *sum <= roll);
        index.min(self.running.len() - 1)
    }
}

/// Old orders have mostly arrived; recent ones are still on their way.
fn status_for_age(rng: &mut SplitMix64, age_days: i64) -> OrderStatus {
    use OrderStatus::*;
    let (statuses, weights): (&[OrderStatus], &[u32]) = match age_days {
        0..=2 => (&[Pending, Paid, Shipped, Cancelled], &[50, 30, 10, 10]),
        3..=13 => (&[Paid, Shipped, Delivered, Cancelled], &[15, 45, 30, 10]),
        _ => (&[Delivered, Cancelled, Shipped], &[88, 10, 2]),
    };
    statuses[rng.weighted(weights)]
}

/// Emails are ASCII: "Müller" becomes "muller".
fn ascii_lower(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'ü' | 'Ü' => 'u',
            'ö' | 'Ö' => 'o',
            'ä' | 'Ä' => 'a',
            other => other,
        })
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(customers: u64, orders_per_customer: u64, seed: u64) -> Shape {
        Shape {
            customers,
            orders_per_customer,
            seed,
        }
    }

    #[test]
    fn splitmix64_matches_its_reference_output() {
        // The first outputs for seed 1234567, from the reference implementation.
        let mut rng = SplitMix64::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn the_same_seed_gives_the_same_rows_and_another_seed_does_not() {
        let a = generate(shape(200, 4, 7), BaseIds::default());
        let b = generate(shape(200, 4, 7), BaseIds::default());
        let c = generate(shape(200, 4, 8), BaseIds::default());
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_ne!(format!("{a:?}"), format!("{c:?}"));
    }

    #[test]
    fn the_tree_is_three_levels_with_parents_first() {
        let data = generate(shape(0, 0, 1), BaseIds::default());
        assert!(
            (30..=40).contains(&data.categories.len()),
            "{}",
            data.categories.len()
        );
        let mut depth = std::collections::HashMap::new();
        for c in &data.categories {
            let d = match c.parent_id {
                None => 0,
                Some(parent) => depth[&parent] + 1, // panics if a child precedes its parent
            };
            depth.insert(c.category_id, d);
        }
        assert_eq!(depth.values().max(), Some(&2));
        assert_eq!(data.products.len(), 300);
    }

    #[test]
    fn exactly_n_times_m_orders_spread_unevenly() {
        let data = generate(shape(5_000, 5, 3), BaseIds::default());
        assert_eq!(data.orders.len(), 25_000, "N x M orders in all");
        let mut per_customer = std::collections::HashMap::new();
        for order in &data.orders {
            *per_customer.entry(order.customer_id).or_insert(0) += 1;
        }
        assert!(
            per_customer.len() < 5_000 * 95 / 100,
            "some customers have no orders: {} of 5000 ordered",
            per_customer.len()
        );
        let most = per_customer.values().max().copied().unwrap_or(0);
        assert!(
            most >= 4 * 5,
            "a few customers order many times the mean: at most {most}"
        );
        let per_order = data.order_items.len() as f64 / data.orders.len() as f64;
        assert!(
            (2.8..=3.2).contains(&per_order),
            "items per order {per_order}"
        );
        let cancelled = data
            .orders
            .iter()
            .filter(|o| o.status == OrderStatus::Cancelled)
            .count();
        assert!(
            cancelled > data.orders.len() / 20,
            "a realistic share is cancelled"
        );
    }

    #[test]
    fn the_total_is_exact_for_tiny_and_empty_shops() {
        for (customers, per_customer) in [(0, 5), (1, 3), (2, 7), (7, 0), (13, 1)] {
            let data = generate(shape(customers, per_customer, 5), BaseIds::default());
            assert_eq!(
                data.orders.len() as u64,
                customers * per_customer,
                "{customers} customers x {per_customer}"
            );
        }
    }

    #[test]
    fn ids_continue_after_the_base_and_emails_and_skus_stay_unique() {
        let base = BaseIds {
            category: 10,
            product: 20,
            customer: 30,
            order: 40,
            order_item: 50,
        };
        let data = generate(shape(100, 3, 1), base);
        assert_eq!(data.categories[0].category_id, 11);
        assert_eq!(data.products[0].product_id, 21);
        assert_eq!(data.customers[0].customer_id, 31);
        assert_eq!(data.orders[0].order_id, 41);
        assert_eq!(data.order_items[0].order_item_id, 51);
        let emails: std::collections::HashSet<_> =
            data.customers.iter().map(|c| &c.email).collect();
        assert_eq!(emails.len(), 100);
        let skus: std::collections::HashSet<_> = data.products.iter().map(|p| &p.sku).collect();
        assert_eq!(skus.len(), 300);
        assert!(
            data.orders
                .windows(2)
                .all(|w| w[0].placed_at <= w[1].placed_at),
            "ids follow time"
        );
    }
}
