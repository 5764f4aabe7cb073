-- Customers ranked by spend with RANK(): equal spend shares a rank, and the next rank skips
-- accordingly (1, 2, 2, 4). The same text serves both backends. $1 = limit.
--
-- Spend excludes cancelled orders, order_count includes them, exactly as on the dashboard.
-- Every customer is ranked, those who never ordered last with 0.
--
-- Each number is one plain GROUP BY: spend over the items joined to their orders, order_count
-- over the orders alone (on SQLite, a pass over orders_customer_id_idx and nothing else).
-- Counting orders in the spend pass would need COUNT(DISTINCT order_id), which sorts every
-- item row, or a total per order first, which aggregates twice (the previous version did;
-- docs/BENCHMARKS.md, issue 15, has its plans and times beside these).
--
-- `spend` names order_items first with CROSS JOIN for SQLite's sake: SQLite takes a CROSS
-- JOIN's left table as the outer loop, so it reads the items in one scan and finds each order
-- by its primary key. Left to choose, it walks orders_customer_id_idx to save sorting by
-- customer and fetches every item through an index, which took three times as long.
-- PostgreSQL plans a CROSS JOIN with a WHERE like any inner join.
--
-- Only the first $1 customers by spend are ranked. RANK() over those rows is RANK() over all
-- customers: everyone who spent more than a customer in the list is in the list too. So the
-- database keeps the best $1 as it reads (a top-N sort) instead of sorting every customer.
--
-- PostgreSQL's RANK(), COUNT() and SUM(BIGINT) return BIGINT, BIGINT and NUMERIC; the CASTs
-- make both backends return 64-bit integers.
WITH spend AS (
    SELECT o.customer_id,
           SUM(oi.quantity * oi.unit_price_cents) AS total_spend_cents
      FROM order_items AS oi
     CROSS JOIN orders AS o
     WHERE o.order_id = oi.order_id
       AND o.status <> 'cancelled'
     GROUP BY o.customer_id
),
order_counts AS (
    SELECT customer_id,
           COUNT(*) AS order_count
      FROM orders
     GROUP BY customer_id
),
every_customer AS (
    SELECT c.customer_id,
           c.first_name,
           c.last_name,
           COALESCE(n.order_count, 0) AS order_count,
           COALESCE(s.total_spend_cents, 0) AS total_spend_cents
      FROM customers AS c
      LEFT JOIN order_counts AS n ON n.customer_id = c.customer_id
      LEFT JOIN spend AS s ON s.customer_id = c.customer_id
),
leaders AS (
    SELECT *
      FROM every_customer
     ORDER BY total_spend_cents DESC, customer_id
     LIMIT $1
)
SELECT CAST(RANK() OVER (ORDER BY total_spend_cents DESC) AS BIGINT) AS rank,
       customer_id,
       first_name,
       last_name,
       CAST(order_count AS BIGINT) AS order_count,
       CAST(total_spend_cents AS BIGINT) AS total_spend_cents
  FROM leaders
 ORDER BY rank, customer_id
