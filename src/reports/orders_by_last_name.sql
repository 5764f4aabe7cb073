-- Orders per last name, most first: the textbook's own reporting query, unchanged but for
-- the tie-break and the bound LIMIT. The same text serves both backends.
-- $1 = limit.
--
-- An inner join, so customers without orders do not appear, and every order counts,
-- cancelled ones included. Ties are broken by last_name in code-point order (the column is
-- COLLATE "C" on PostgreSQL; SQLite compares text as BINARY).
SELECT c.last_name,
       COUNT(*) AS orders
  FROM customers AS c
  JOIN orders AS o ON o.customer_id = c.customer_id
 GROUP BY c.last_name
 ORDER BY orders DESC, c.last_name
 LIMIT $1
