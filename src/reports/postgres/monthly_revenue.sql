-- Revenue per month with a running total, every month of the range listed, empty ones as 0.
-- $1 = first month 'YYYY-MM' or NULL, $2 = last month or NULL (NULL: the first / last month
-- with a non-cancelled order). Cancelled orders are neither counted nor summed.
--
-- PostgreSQL differs from SQLite here: months come from generate_series over timestamps and
-- are formatted with to_char; SQLite has neither, and counts months with a recursive CTE.
--
-- `order_totals` reads only the orders of the range, through orders_placed_at_idx (the second
-- migration), because the range is a condition on placed_at itself: an index on a column
-- serves conditions on the column, not on to_char(column). A missing bound becomes -infinity or
-- infinity rather than an OR, so the condition keeps that shape whatever is bound. For the same
-- reason `bounds` takes MIN and MAX of placed_at and formats the result: the index answers each
-- by reading one entry at one end. docs/BENCHMARKS.md has the plans before and after.
--
-- `order_totals` totals each order in the range, and `revenue` counts and sums those totals
-- per month. Grouping by order_id alone is enough to select placed_at's month: placed_at
-- depends on the primary key. The earlier version grouped the joined item rows by month in one
-- step, and its COUNT(DISTINCT o.order_id) made PostgreSQL sort every item row of the range by
-- month (on disk, for all months). Totalled per order first, the item rows need no sort by
-- month, and the count is a plain COUNT(*) (docs/BENCHMARKS.md, issue 15).
WITH bounds AS (
    SELECT COALESCE($1, to_char(MIN(placed_at), 'YYYY-MM')) AS first_month,
           COALESCE($2, to_char(MAX(placed_at), 'YYYY-MM')) AS last_month
      FROM orders
     WHERE status <> 'cancelled'
),
months AS (
    SELECT generate_series(CAST(to_date(first_month, 'YYYY-MM') AS TIMESTAMP),
                           CAST(to_date(last_month, 'YYYY-MM') AS TIMESTAMP),
                           INTERVAL '1 month') AS month_start
      FROM bounds
     WHERE first_month IS NOT NULL AND last_month IS NOT NULL
),
order_totals AS (
    SELECT date_trunc('month', o.placed_at) AS month_start,
           SUM(oi.quantity * oi.unit_price_cents) AS total_cents
      FROM orders AS o
      LEFT JOIN order_items AS oi ON oi.order_id = o.order_id
     WHERE o.status <> 'cancelled'
       AND o.placed_at >= COALESCE(CAST(to_date($1, 'YYYY-MM') AS TIMESTAMP), '-infinity')
       AND o.placed_at < COALESCE(CAST(to_date($2, 'YYYY-MM') AS TIMESTAMP) + INTERVAL '1 month',
                                  'infinity')
     GROUP BY o.order_id
),
revenue AS (
    SELECT month_start,
           COUNT(*) AS order_count,
           SUM(total_cents) AS revenue_cents
      FROM order_totals
     GROUP BY month_start
)
SELECT to_char(m.month_start, 'YYYY-MM') AS month,
       CAST(COALESCE(r.order_count, 0) AS BIGINT) AS order_count,
       CAST(COALESCE(r.revenue_cents, 0) AS BIGINT) AS revenue_cents,
       CAST(SUM(COALESCE(r.revenue_cents, 0)) OVER (ORDER BY m.month_start) AS BIGINT)
           AS running_revenue_cents
  FROM months AS m
  LEFT JOIN revenue AS r ON r.month_start = m.month_start
 ORDER BY m.month_start
