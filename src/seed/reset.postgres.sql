-- `mercado seed --reset` on PostgreSQL: one statement empties every table and restarts the
-- identity sequences, so the next seeded ids start at 1.
TRUNCATE order_items, orders, products, customers, categories RESTART IDENTITY;
