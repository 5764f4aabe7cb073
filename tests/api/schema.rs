//! Schema invariants: the PostgreSQL and SQLite migration trees build the same tables, columns,
//! nullability, uniques and indexes; every migration's `down` undoes its `up`, step by step, and
//! a redo on a database with data keeps the data; every foreign-key column is indexed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use indicatif::ProgressBar;
use mercado::db::{self, Backend, DbConnection};
use mercado::schema::{categories, customers, order_items, orders, products};
use mercado::seed::{self, generate, LoadMethod, SeedOptions};

use crate::helpers::TestDatabase;

/// What the tests compare: per table, its columns in order with nullability, its indexes as
/// (columns, unique), and its foreign keys as (column, referenced table).
#[derive(Debug, PartialEq, Eq)]
struct TableShape {
    columns: Vec<(String, bool)>,
    indexes: BTreeSet<(String, bool)>,
    foreign_keys: BTreeSet<(String, String)>,
}

type Shape = BTreeMap<String, TableShape>;

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

#[derive(QueryableByName)]
struct Index {
    #[diesel(sql_type = Text)]
    columns: String,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
}

#[derive(QueryableByName)]
struct ForeignKey {
    #[diesel(sql_type = Text)]
    column: String,
    #[diesel(sql_type = Text)]
    target: String,
}

/// Reads the schema back from the database's own catalogue.
fn shape(conn: &mut DbConnection) -> Shape {
    let (tables, columns, indexes, foreign_keys) = match conn.backend() {
        Backend::Sqlite => (
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations' ORDER BY name",
            // An INTEGER PRIMARY KEY is the rowid and can never be NULL, whatever notnull says.
            "SELECT name, (\"notnull\" = 0 AND pk = 0) AS nullable FROM pragma_table_info(?) ORDER BY cid",
            "SELECT (SELECT group_concat(name, ',') FROM \
                 (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno)) AS columns, \
                 (il.\"unique\" = 1) AS is_unique \
             FROM pragma_index_list(?) il WHERE il.origin <> 'pk'",
            "SELECT \"from\" AS column, \"table\" AS target FROM pragma_foreign_key_list(?)",
        ),
        Backend::Postgresql => (
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
             AND table_name <> '__diesel_schema_migrations' ORDER BY table_name",
            "SELECT column_name::text AS name, (is_nullable = 'YES') AS nullable \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 \
             ORDER BY ordinal_position",
            "SELECT string_agg(a.attname, ',' ORDER BY k.n) AS columns, ix.indisunique AS is_unique \
             FROM pg_index ix \
             JOIN pg_class t ON t.oid = ix.indrelid \
             JOIN pg_namespace ns ON ns.oid = t.relnamespace AND ns.nspname = 'public' \
             CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n) \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
             WHERE t.relname = $1 AND NOT ix.indisprimary \
             GROUP BY ix.indexrelid, ix.indisunique",
            "SELECT a.attname::text AS column, r.relname::text AS target \
             FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid \
             JOIN pg_class r ON r.oid = c.confrelid \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (c.conkey) \
             WHERE c.contype = 'f' AND t.relname = $1",
        ),
    };
    let names: Vec<Name> = diesel::sql_query(tables).load(conn).unwrap();
    names
        .into_iter()
        .map(|Name { name }| {
            let columns: Vec<Column> = diesel::sql_query(columns)
                .bind::<Text, _>(&name)
                .load(conn)
                .unwrap();
            let indexes: Vec<Index> = diesel::sql_query(indexes)
                .bind::<Text, _>(&name)
                .load(conn)
                .unwrap();
            let keys: Vec<ForeignKey> = diesel::sql_query(foreign_keys)
                .bind::<Text, _>(&name)
                .load(conn)
                .unwrap();
            let table = TableShape {
                columns: columns.into_iter().map(|c| (c.name, c.nullable)).collect(),
                indexes: indexes
                    .into_iter()
                    .map(|i| (i.columns, i.is_unique))
                    .collect(),
                foreign_keys: keys.into_iter().map(|k| (k.column, k.target)).collect(),
            };
            (name, table)
        })
        .collect()
}

#[test]
fn both_migration_trees_build_the_same_schema() {
    let Some(postgres) = TestDatabase::create(Backend::Postgresql) else {
        return;
    };
    let sqlite = TestDatabase::create(Backend::Sqlite).unwrap();

    let pg_shape = shape(&mut postgres.connect());
    let sqlite_shape = shape(&mut sqlite.connect());

    assert_eq!(
        pg_shape.keys().collect::<Vec<_>>(),
        [
            "categories",
            "customers",
            "order_items",
            "orders",
            "products"
        ]
    );
    assert_eq!(pg_shape, sqlite_shape);
}

/// Every migration round-trips. From an empty database, apply the migrations one at a time and
/// record the schema after each; revert them one at a time back to the start, checking after
/// each step that the schema is the one the forward path had at that point; then apply them
/// again one at a time, checking the same. A `down.sql` that forgets something its `up.sql`
/// made (an index, a constraint) fails here, as does an `up.sql` that cannot run twice.
fn every_migration_round_trips(backend: Backend) {
    let Some(database) = TestDatabase::create_empty(backend) else {
        return;
    };
    let mut conn = database.connect();

    // forward[k] is the schema with the first k migrations applied.
    let mut forward = vec![shape(&mut conn)];
    while db::migrate_one(&mut conn).expect("up.sql runs").is_some() {
        forward.push(shape(&mut conn));
    }
    let migrations = forward.len() - 1;

    assert!(migrations >= 2, "the shop and the placed_at index");
    assert!(forward[0].is_empty());
    // Back along the forward path, from the state before the last one to the empty start.
    for (applied, expected) in forward.iter().enumerate().rev().skip(1) {
        let reverted = db::revert_newest(&mut conn).expect("down.sql runs");
        assert!(reverted.is_some());
        assert_eq!(
            &shape(&mut conn),
            expected,
            "{backend:?}: reverted back to {applied} migration(s)"
        );
    }
    assert_eq!(db::revert_newest(&mut conn).expect("nothing to do"), None);
    for (applied, expected) in forward.iter().enumerate().skip(1) {
        db::migrate_one(&mut conn)
            .expect("up.sql runs again")
            .expect("a pending migration");
        assert_eq!(
            &shape(&mut conn),
            expected,
            "{backend:?}: applied {applied} migration(s) again"
        );
    }
}

#[test]
fn every_migration_round_trips_on_sqlite() {
    every_migration_round_trips(Backend::Sqlite);
}

#[test]
fn every_migration_round_trips_on_postgresql() {
    every_migration_round_trips(Backend::Postgresql);
}

/// Every row of the shop, in id order: what a migration must not lose.
#[derive(Debug, PartialEq)]
struct Rows {
    categories: Vec<(i64, String, Option<i64>)>,
    customers: Vec<(i64, String, String, String, NaiveDateTime)>,
    products: Vec<(i64, String, String, i64, i64)>,
    orders: Vec<(i64, i64, String, NaiveDateTime)>,
    order_items: Vec<(i64, i64, i64, i32, i64)>,
}

fn rows(conn: &mut DbConnection) -> Rows {
    Rows {
        categories: categories::table
            .order(categories::category_id)
            .load(conn)
            .unwrap(),
        customers: customers::table
            .order(customers::customer_id)
            .load(conn)
            .unwrap(),
        products: products::table
            .order(products::product_id)
            .load(conn)
            .unwrap(),
        orders: orders::table.order(orders::order_id).load(conn).unwrap(),
        order_items: order_items::table
            .order(order_items::order_item_id)
            .load(conn)
            .unwrap(),
    }
}

/// `diesel migration redo`, made a test: on a database with a shop in it, reverting the newest
/// migration and applying it again gives back the same schema and every row as it was.
fn redoing_the_newest_migration_keeps_the_data(backend: Backend) {
    let Some(database) = TestDatabase::create(backend) else {
        return;
    };
    let mut conn = database.connect();
    let options = SeedOptions {
        shape: generate::Shape {
            customers: 300,
            orders_per_customer: 3,
            seed: 14,
        },
        reset: false,
        method: LoadMethod::fastest_for(backend),
    };
    seed::seed(&mut conn, options, &ProgressBar::hidden()).expect("seed the shop");
    let (schema_before, rows_before) = (shape(&mut conn), rows(&mut conn));

    let reverted = db::revert_newest(&mut conn)
        .expect("down.sql runs")
        .expect("a migration to revert");
    let applied = db::migrate(&mut conn).expect("up.sql runs again");

    assert_eq!(applied, [reverted]);
    assert_eq!(shape(&mut conn), schema_before);
    assert_eq!(rows_before.orders.len(), 900);
    assert_eq!(rows(&mut conn), rows_before);
}

#[test]
fn redoing_the_newest_migration_keeps_the_data_on_sqlite() {
    redoing_the_newest_migration_keeps_the_data(Backend::Sqlite);
}

#[test]
fn redoing_the_newest_migration_keeps_the_data_on_postgresql() {
    redoing_the_newest_migration_keeps_the_data(Backend::Postgresql);
}

fn every_foreign_key_column_is_indexed(backend: Backend) {
    let Some(database) = TestDatabase::create(backend) else {
        return;
    };
    let schema = shape(&mut database.connect());

    for (table, shape) in &schema {
        for (column, _) in &shape.foreign_keys {
            // An index serves `WHERE column = ...` when the column leads it.
            let indexed = shape
                .indexes
                .iter()
                .any(|(columns, _)| columns.split(',').next() == Some(column.as_str()));
            assert!(
                indexed,
                "{table}.{column} is a foreign key without an index"
            );
        }
    }
    assert_eq!(
        schema.values().map(|t| t.foreign_keys.len()).sum::<usize>(),
        5,
        "the five foreign keys of the contract"
    );
}

#[test]
fn every_foreign_key_column_is_indexed_on_sqlite() {
    every_foreign_key_column_is_indexed(Backend::Sqlite);
}

#[test]
fn every_foreign_key_column_is_indexed_on_postgresql() {
    every_foreign_key_column_is_indexed(Backend::Postgresql);
}
