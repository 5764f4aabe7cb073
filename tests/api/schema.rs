//! Schema invariants: the PostgreSQL and SQLite migration trees build the same tables, columns,
//! nullability, uniques and indexes; `down` undoes `up`; every foreign-key column is indexed.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use mercado::db::{self, Backend, DbConnection};

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

fn down_then_up_round_trips(backend: Backend) {
    let Some(database) = TestDatabase::create(backend) else {
        return;
    };
    let mut conn = database.connect();
    let migrated = shape(&mut conn);

    db::revert_all(&mut conn).expect("every down.sql runs");
    assert!(
        shape(&mut conn).is_empty(),
        "down.sql leaves no table behind"
    );
    let applied = db::migrate(&mut conn).expect("up.sql runs again");

    assert!(!applied.is_empty());
    assert_eq!(shape(&mut conn), migrated);
}

#[test]
fn down_then_up_round_trips_on_sqlite() {
    down_then_up_round_trips(Backend::Sqlite);
}

#[test]
fn down_then_up_round_trips_on_postgresql() {
    down_then_up_round_trips(Backend::Postgresql);
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
