-- Revenue per month with a running total, every month of the range listed, empty ones as 0.
-- $1 = first month 'YYYY-MM' or NULL, $2 = last month or NULL (NULL: the first / last month
-- with a non-cancelled order). Cancelled orders are neither counted nor summed.
--
-- SQLite differs from PostgreSQL here: it has no generate_series or to_char, so the months
-- are counted by a recursive CTE with date(..., '+1 month') and formatted with strftime
-- (placed_at is stored as 'YYYY-MM-DD HH:MM:SS.ffffff' text, which strftime reads).
--
-- `revenue` reads only the orders of the range, through an index (the second migration),
-- because the range is a condition on placed_at itself, not on strftime(placed_at). The bounds
-- are text, compared as text: from day 01 of the first month up to, not including, "day 32" of
-- the last, which sorts after every real day of it (date(..., '+1 month') would give NULL after
-- 9999-12, a month the API accepts). A missing bound becomes one that every date passes.
-- docs/BENCHMARKS.md has the plans before and after.
WITH RECURSIVE bounds AS (
    SELECT COALESCE($1, strftime('%Y-%m', MIN(placed_at))) AS first_month,
           COALESCE($2, strftime('%Y-%m', MAX(placed_at))) AS last_month
      FROM orders
     WHERE status <> 'cancelled'
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
revenue AS (
    SELECT strftime('%Y-%m', o.placed_at) AS month,
           COUNT(DISTINCT o.order_id) AS order_count,
           SUM(oi.quantity * oi.unit_price_cents) AS revenue_cents
      FROM orders AS o
      LEFT JOIN order_items AS oi ON oi.order_id = o.order_id
     WHERE o.status <> 'cancelled'
       AND o.placed_at >= COALESCE($1, '0000-00') || '-01'
       AND o.placed_at < COALESCE($2, '9999-99') || '-32'
     GROUP BY 1
)
SELECT m.month AS month,
       COALESCE(r.order_count, 0) AS order_count,
       COALESCE(r.revenue_cents, 0) AS revenue_cents,
       SUM(COALESCE(r.revenue_cents, 0)) OVER (ORDER BY m.month) AS running_revenue_cents
  FROM months AS m
  LEFT JOIN revenue AS r ON r.month = m.month
 ORDER BY m.month
