-- Customers ranked by spend with RANK(): equal spend shares a rank, and the next rank skips
-- accordingly (1, 2, 2, 4). The same text serves both backends. $1 = limit.
--
-- Spend excludes cancelled orders, order_count includes them, exactly as on the dashboard.
-- Every customer is ranked, those who never ordered last with 0. PostgreSQL's RANK(), COUNT()
-- and SUM(BIGINT) return BIGINT, BIGINT and NUMERIC; the CASTs make both backends return
-- 64-bit integers.
WITH per_customer AS (
    SELECT c.customer_id,
           c.first_name,
           c.last_name,
           COUNT(DISTINCT o.order_id) AS order_count,
           COALESCE(SUM(CASE WHEN o.status <> 'cancelled'
                             THEN oi.quantity * oi.unit_price_cents END), 0) AS total_spend_cents
      FROM customers AS c
      LEFT JOIN orders AS o ON o.customer_id = c.customer_id
      LEFT JOIN order_items AS oi ON oi.order_id = o.order_id
     GROUP BY c.customer_id, c.first_name, c.last_name
)
SELECT CAST(RANK() OVER (ORDER BY total_spend_cents DESC) AS BIGINT) AS rank,
       customer_id,
       first_name,
       last_name,
       CAST(order_count AS BIGINT) AS order_count,
       CAST(total_spend_cents AS BIGINT) AS total_spend_cents
  FROM per_customer
 ORDER BY rank, customer_id
 LIMIT $1
