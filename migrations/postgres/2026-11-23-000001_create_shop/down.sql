-- Undoes up.sql, children before parents: the end of the shop and every row in it. It exists
-- for development and for the round-trip test (tests/api/schema.rs); `mercado migrate --revert`
-- asks for --yes before it runs this against a database that has customers.
--
-- squawk's ban-drop-table warns that dropping a table breaks the clients that use it: here that
-- is the point, so it is ignored for the file.
-- squawk-ignore-file ban-drop-table
--
-- Each DROP needs an ACCESS EXCLUSIVE lock, which waits for every query on the table, and every
-- later query waits behind it. lock_timeout turns a long wait into a quick failure (the
-- transaction rolls back, nothing is dropped) instead of a stalled service. LOCAL: only for
-- this migration's transaction.
SET LOCAL lock_timeout = '5s';
-- A DROP TABLE is a catalogue change and a file removal: once it has its lock it takes
-- milliseconds, so a statement_timeout would bound nothing that lock_timeout does not.
-- squawk-ignore require-statement-timeout
DROP TABLE order_items;
DROP TABLE orders;
DROP TABLE products;
DROP TABLE customers;
DROP TABLE categories;
