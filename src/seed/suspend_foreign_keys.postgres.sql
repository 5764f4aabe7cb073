-- Before a bulk load on PostgreSQL: set the foreign keys aside.
--
-- A foreign key is checked by a trigger once per inserted row (an index probe plus a row lock
-- on the parent); for 300,000 order items that is most of the load time. PostgreSQL's manual
-- ("Populating a Database") recommends dropping the constraints, loading, and adding them back:
-- re-adding checks every row in one join. The definitions are read from the catalogue, so
-- this file cannot drift from the migrations, and all of it runs inside the seed's
-- transaction: if the load or the re-check fails, the drops roll back with everything else.
-- The tables are locked (ACCESS EXCLUSIVE) until the seed commits; seeding is an admin task.
CREATE TEMP TABLE mercado_suspended_foreign_keys ON COMMIT DROP AS
SELECT c.conrelid::regclass AS table_name,
       c.conname AS constraint_name,
       pg_get_constraintdef(c.oid) AS definition
  FROM pg_constraint c
 WHERE c.contype = 'f'
   AND c.connamespace = current_schema()::regnamespace
   AND c.conrelid::regclass::text IN ('categories', 'products', 'orders', 'order_items');

DO $$
DECLARE fk record;
BEGIN
    FOR fk IN SELECT * FROM mercado_suspended_foreign_keys LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.table_name, fk.constraint_name);
    END LOOP;
END $$;
