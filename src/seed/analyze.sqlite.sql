-- Fresh planner statistics after a bulk load, as on PostgreSQL: SQLite's planner reads them
-- from sqlite_stat1 when choosing between indexes.
ANALYZE;
