-- `mercado seed --reset` on SQLite: children before parents, then forget the AUTOINCREMENT
-- counters so the next seeded ids start at 1.
DELETE FROM order_items;
DELETE FROM orders;
DELETE FROM products;
DELETE FROM customers;
DELETE FROM categories;
DELETE FROM sqlite_sequence
 WHERE name IN ('order_items', 'orders', 'products', 'customers', 'categories');
