-- Customers ranked by spend with RANK(): equal spend shares a rank, and the next rank skips
-- accordingly (1, 2, 2, 4). The same text serves both backends. $1 = limit.
--
-- Spend excludes cancelled orders, order_count includes them, exactly as on the dashboard.
-- Every customer is ranked, those who never ordered last with 0.
--
-- Each order is totalled once (order_totals), then each customer (per_customer): two plain
-- GROUP BYs. The obvious single join of customers, orders and items needs COUNT(DISTINCT
-- order_id), which sorts every item row, and measured about 1.5x slower here. PostgreSQL's
-- RANK(), COUNT() and SUM(BIGINT) return BIGINT, BIGINT and NUMERIC; the CASTs make both
-- backends return 64-bit integers.
WITH order_totals AS (
    SELECT o.order_id,
           o.customer_id,
           o.status,
           COALESCE(SUM(oi.quantity * oi.unit_price_cents), 0) AS total_cents
      FROM orders AS o
      LEFT JOIN order_items AS oi ON oi.order_id = o.order_id
     GROUP BY o.order_id, o.customer_id, o.status
),
per_customer AS (
    SELECT customer_id,
           COUNT(*) AS order_count,
           SUM(CASE WHEN status <> 'cancelled' THEN total_cents ELSE 0 END) AS total_spend_cents
      FROM order_totals
     GROUP BY customer_id
),
ranked AS (
    SELECT c.customer_id,
           c.first_name,
           c.last_name,
           COALESCE(p.order_count, 0) AS order_count,
           COALESCE(p.total_spend_cents, 0) AS total_spend_cents
      FROM customers AS c
      LEFT JOIN per_customer AS p ON p.customer_id = c.customer_id
)
SELECT CAST(RANK() OVER (ORDER BY total_spend_cents DESC) AS BIGINT) AS rank,
       customer_id,
       first_name,
       last_name,
       CAST(order_count AS BIGINT) AS order_count,
       CAST(total_spend_cents AS BIGINT) AS total_spend_cents
  FROM ranked
 ORDER BY rank, customer_id
 LIMIT $1
