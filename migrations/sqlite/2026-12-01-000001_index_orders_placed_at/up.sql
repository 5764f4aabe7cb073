-- Serves the monthly-revenue report's range over placed_at (src/reports/sqlite/monthly_revenue.sql);
-- the same index as migrations/postgres/, which explains the choice.
--
-- SQLite has no CONCURRENTLY and needs none of its ceremony: CREATE INDEX takes the database's
-- one write lock for the length of the build, and in WAL mode readers go on reading meanwhile.
-- Writers wait (up to busy_timeout) until it commits. So this migration runs in Diesel's usual
-- transaction, and a failed build leaves nothing behind.
CREATE INDEX orders_placed_at_idx ON orders (placed_at);
