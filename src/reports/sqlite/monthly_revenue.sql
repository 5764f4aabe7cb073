-- Revenue per month with a running total, every month of the range listed, empty ones as 0.
-- $1 = first month 'YYYY-MM' or NULL, $2 = last month or NULL (NULL: the first / last month
-- with a non-cancelled order). Cancelled orders are neither counted nor summed.
--
-- SQLite differs from PostgreSQL here: it has no generate_series or to_char, so the months
-- are counted by a recursive CTE with date(..., '+1 month') and formatted with strftime
-- (placed_at is stored as 'YYYY-MM-DD HH:MM:SS.ffffff' text, which strftime reads).
--
-- Each month is summed on its own, by two subqueries that read only that month's orders
-- through an index (the second migration): its order count, from the index alone, and its
-- revenue, from the orders joined to their items. The months are listed already, so nothing is
-- grouped and nothing sorted. The earlier version grouped the joined rows by month instead:
-- SQLite has no hash aggregation, so it sorted every item row of the range by month and
-- counted distinct orders in a second temporary B-tree, about three times the work
-- (docs/BENCHMARKS.md, issue 15). `revenue` is MATERIALIZED because the outer SELECT reads
-- revenue_cents twice, and SQLite would otherwise run its subquery twice.
--
-- The bounds are text, compared as text: from day 01 of a month up to, not including, "day 32",
-- which sorts after every real day of it (date(..., '+1 month') would give NULL after 9999-12,
-- a month the API accepts). A missing bound is MIN or MAX of placed_at, each its own subquery:
-- SQLite answers a lone MIN or MAX from one end of orders_placed_at_idx, but both in one SELECT
-- by reading every order, as the earlier version did even when both bounds were given.
-- COALESCE stops at its first non-NULL argument, so a given bound costs nothing.
WITH RECURSIVE bounds AS (
    SELECT COALESCE($1, (SELECT strftime('%Y-%m', MIN(placed_at))
                           FROM orders
                          WHERE status <> 'cancelled')) AS first_month,
           COALESCE($2, (SELECT strftime('%Y-%m', MAX(placed_at))
                           FROM orders
                          WHERE status <> 'cancelled')) AS last_month
),
months(month) AS (
    SELECT first_month
      FROM bounds
     WHERE first_month IS NOT NULL AND last_month IS NOT NULL AND first_month <= last_month
    UNION ALL
    SELECT strftime('%Y-%m', date(months.month || '-01', '+1 month'))
      FROM months, bounds
     WHERE months.month < bounds.last_month
),
revenue AS MATERIALIZED (
    SELECT m.month,
           (SELECT COUNT(*)
              FROM orders AS o
             WHERE o.status <> 'cancelled'
               AND o.placed_at >= m.month || '-01'
               AND o.placed_at < m.month || '-32') AS order_count,
           (SELECT SUM(oi.quantity * oi.unit_price_cents)
              FROM orders AS o
              JOIN order_items AS oi ON oi.order_id = o.order_id
             WHERE o.status <> 'cancelled'
               AND o.placed_at >= m.month || '-01'
               AND o.placed_at < m.month || '-32') AS revenue_cents
      FROM months AS m
)
SELECT month,
       order_count,
       COALESCE(revenue_cents, 0) AS revenue_cents,
       SUM(COALESCE(revenue_cents, 0)) OVER (ORDER BY month) AS running_revenue_cents
  FROM revenue
 ORDER BY month
