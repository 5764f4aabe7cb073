-- The dashboard, computed by the database: one statement, the same text on both backends.
-- $1 = after (exclusive customer id cursor), $2 = limit. SQLite numbers `$n` parameters by
-- first appearance, so they are used here in ascending order.
--
-- The page of customers is chosen first (the subquery), so LIMIT counts customers, not joined
-- rows. COUNT(DISTINCT o.order_id) counts every order, cancelled ones included; the SUM skips
-- the items of cancelled orders. PostgreSQL's SUM over BIGINT is NUMERIC, hence the CAST.
SELECT c.customer_id,
       c.first_name,
       c.last_name,
       COUNT(DISTINCT o.order_id) AS order_count,
       CAST(COALESCE(SUM(CASE WHEN o.status <> 'cancelled'
                              THEN oi.quantity * oi.unit_price_cents END), 0) AS BIGINT)
           AS total_spend_cents
  FROM (SELECT customer_id, first_name, last_name
          FROM customers
         WHERE customer_id > $1
         ORDER BY customer_id
         LIMIT $2) AS c
  LEFT JOIN orders AS o ON o.customer_id = c.customer_id
  LEFT JOIN order_items AS oi ON oi.order_id = o.order_id
 GROUP BY c.customer_id, c.first_name, c.last_name
 ORDER BY c.customer_id
