-- After a bulk load on PostgreSQL: add back the foreign keys that
-- suspend_foreign_keys.postgres.sql set aside. Each ADD CONSTRAINT checks every row at once;
-- a violation aborts the seed's transaction and nothing of the load remains.
DO $$
DECLARE fk record;
BEGIN
    FOR fk IN SELECT * FROM mercado_suspended_foreign_keys LOOP
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s',
                       fk.table_name, fk.constraint_name, fk.definition);
    END LOOP;
END $$;
DROP TABLE mercado_suspended_foreign_keys;
