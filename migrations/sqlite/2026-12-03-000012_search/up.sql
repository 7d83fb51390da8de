-- The full-text index (src/search, store/models/search.rs): one row per ticket subject, message
-- and saved article, holding the English and German stems of its words (stemmed in Rust, the
-- same on both backends) and the text it came from, for snippets. Kept in the transaction that
-- writes the message. Rows written before this table existed are indexed by
-- `postdesk search --reindex` (and by `serve` at start when the index is empty).
CREATE VIRTUAL TABLE search_docs USING fts5(
    stems,
    kind UNINDEXED,
    ticket_id UNINDEXED,
    name UNINDEXED,
    text UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 0',
    -- (each stem is in a row once, and queries are of single stems: no positions needed, and
    -- an index without them is about half as much to write)
    detail = none
);
