-- Undoes up.sql without blocking the shop: a plain DROP INDEX takes an ACCESS EXCLUSIVE lock on
-- orders, which waits for every query on it and makes every later one wait too; CONCURRENTLY
-- waits for the queries that may use the index, and blocks none. One statement, no transaction,
-- as in up.sql. IF EXISTS lets a revert that failed half way run again.
--
-- squawk's require-lock-timeout and require-statement-timeout are ignored for up.sql's reasons:
-- a SET would be a second statement, and this lock blocks no reads or writes.
-- squawk-ignore require-lock-timeout, require-statement-timeout
DROP INDEX CONCURRENTLY IF EXISTS orders_placed_at_idx;
