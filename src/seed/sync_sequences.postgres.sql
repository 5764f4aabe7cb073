-- After rows were inserted with explicit ids, move each identity sequence past the largest id,
-- or the next API insert would be handed an id that is already taken. (SQLite needs no such
-- step: AUTOINCREMENT follows the largest rowid by itself.)
SELECT setval(pg_get_serial_sequence('categories', 'category_id'), COALESCE(MAX(category_id), 0) + 1, false) FROM categories;
SELECT setval(pg_get_serial_sequence('products', 'product_id'), COALESCE(MAX(product_id), 0) + 1, false) FROM products;
SELECT setval(pg_get_serial_sequence('customers', 'customer_id'), COALESCE(MAX(customer_id), 0) + 1, false) FROM customers;
SELECT setval(pg_get_serial_sequence('orders', 'order_id'), COALESCE(MAX(order_id), 0) + 1, false) FROM orders;
SELECT setval(pg_get_serial_sequence('order_items', 'order_item_id'), COALESCE(MAX(order_item_id), 0) + 1, false) FROM order_items;

-- Fresh planner statistics: without them PostgreSQL plans the next queries for the tables as
-- they were before the load (autovacuum would catch up, but only later).
ANALYZE categories, products, customers, orders, order_items;
