-- (SQLite's FTS5 merge setting; PostgreSQL's GIN index needs nothing)
SELECT 1;
