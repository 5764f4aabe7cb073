-- Revenue per category, rolled up the tree: a recursive CTE walks down from the roots to give
-- each category its depth and its path ("Electronics > Phones"), a second one pairs every
-- category with all of its descendants, and revenue_cents sums the own revenue of the whole
-- subtree. Cancelled orders are excluded. No parameters. The same text serves both backends.
--
-- Paths sort in code-point order on both: SQLite compares text as BINARY, and on PostgreSQL
-- `categories.name` is COLLATE "C", which the paths built from it inherit. The CASTs make
-- PostgreSQL's NUMERIC sums 64-bit integers; SQLite accepts them as they are.
--
-- `own` is nearly all the work, and it names order_items first with CROSS JOIN for SQLite's
-- sake: SQLite takes a CROSS JOIN's left table as the outer loop, so it reads the items in one
-- scan and finds each order and product by its primary key. Left to choose, it walked
-- products_category_id_idx to have the rows in category order without sorting them, fetched
-- every item through order_items_product_id_idx, and took three times as long
-- (docs/BENCHMARKS.md, issue 15). PostgreSQL plans a CROSS JOIN with a WHERE like any inner
-- join.
WITH RECURSIVE tree AS (
    SELECT category_id, name, parent_id, CAST(0 AS BIGINT) AS depth, name AS path
      FROM categories
     WHERE parent_id IS NULL
    UNION ALL
    SELECT c.category_id, c.name, c.parent_id, t.depth + 1, t.path || ' > ' || c.name
      FROM categories AS c
      JOIN tree AS t ON c.parent_id = t.category_id
),
subtree AS (
    SELECT category_id AS ancestor_id, category_id AS descendant_id
      FROM categories
    UNION ALL
    SELECT s.ancestor_id, c.category_id
      FROM subtree AS s
      JOIN categories AS c ON c.parent_id = s.descendant_id
),
own AS (
    SELECT p.category_id, SUM(oi.quantity * oi.unit_price_cents) AS revenue_cents
      FROM order_items AS oi
     CROSS JOIN orders AS o
     CROSS JOIN products AS p
     WHERE o.order_id = oi.order_id
       AND p.product_id = oi.product_id
       AND o.status <> 'cancelled'
     GROUP BY p.category_id
),
rolled_up AS (
    SELECT s.ancestor_id AS category_id, SUM(own.revenue_cents) AS revenue_cents
      FROM subtree AS s
      JOIN own ON own.category_id = s.descendant_id
     GROUP BY s.ancestor_id
)
SELECT t.category_id,
       t.name,
       t.parent_id,
       t.depth,
       t.path,
       CAST(COALESCE(own.revenue_cents, 0) AS BIGINT) AS own_revenue_cents,
       CAST(COALESCE(rolled_up.revenue_cents, 0) AS BIGINT) AS revenue_cents
  FROM tree AS t
  LEFT JOIN own ON own.category_id = t.category_id
  LEFT JOIN rolled_up ON rolled_up.category_id = t.category_id
 ORDER BY t.path
