-- The Mercado shop on SQLite: the same tables, columns, constraints and indexes as
-- migrations/postgres/, in SQLite's dialect; tests/api/schema.rs proves the two trees agree.
--
-- `INTEGER PRIMARY KEY` makes the id the table's rowid (a 64-bit integer); `BIGINT PRIMARY KEY`
-- would not. AUTOINCREMENT means a deleted id is never handed out again, as on PostgreSQL.
-- Foreign keys are enforced because every pooled connection runs `PRAGMA foreign_keys = ON`.
-- SQLite compares text by code point (BINARY), the order PostgreSQL gets from COLLATE "C".
-- Timestamps are stored as text, 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC: the application always
-- supplies them, to the microsecond. The column defaults serve hand-written SQL only, and
-- SQLite's strftime gives milliseconds there.

CREATE TABLE categories (
    category_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    parent_id   BIGINT REFERENCES categories (category_id)
);
CREATE INDEX categories_parent_id_idx ON categories (parent_id);

CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name  TEXT NOT NULL CHECK (length(first_name) BETWEEN 1 AND 100),
    last_name   TEXT NOT NULL CHECK (length(last_name) BETWEEN 1 AND 100),
    -- Stored lower-cased by the application, so this plain unique index is case-insensitive.
    email       TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    created_at  TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    CONSTRAINT customers_email_key UNIQUE (email)
);

CREATE TABLE products (
    product_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    sku              TEXT NOT NULL CHECK (length(sku) BETWEEN 1 AND 64),
    name             TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    category_id      BIGINT NOT NULL REFERENCES categories (category_id),
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents BETWEEN 0 AND 100000000),
    CONSTRAINT products_sku_key UNIQUE (sku)
);
CREATE INDEX products_category_id_idx ON products (category_id);

CREATE TABLE orders (
    order_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id BIGINT NOT NULL REFERENCES customers (customer_id),
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
    placed_at   TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
-- Serves the set-based status change: WHERE status = ? AND placed_at < ?.
CREATE INDEX orders_status_placed_at_idx ON orders (status, placed_at);

CREATE TABLE order_items (
    order_item_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id         BIGINT NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE,
    product_id       BIGINT NOT NULL REFERENCES products (product_id),
    quantity         INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    -- Copied from the product when the order is placed: later price changes leave orders alone.
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents >= 0),
    -- Its leading column, order_id, is also the index that belonging_to(&orders) uses.
    CONSTRAINT order_items_order_id_product_id_key UNIQUE (order_id, product_id)
);
CREATE INDEX order_items_product_id_idx ON order_items (product_id);
