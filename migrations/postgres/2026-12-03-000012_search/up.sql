-- The full-text index (src/search, store/models/search.rs): one row per ticket subject, message
-- and saved article, holding the English and German stems of its words (stemmed in Rust, the
-- same on both backends, as a 'simple' tsvector with a GIN index) and the text it came from, for
-- snippets. Kept in the transaction that writes the message. Rows written before this table
-- existed are indexed by `postdesk search --reindex` (and by `serve` at start when the index is
-- empty).
CREATE TABLE search_docs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    ticket_id BIGINT,
    name TEXT,
    text TEXT NOT NULL,
    stems TSVECTOR NOT NULL
);
CREATE INDEX search_docs_stems ON search_docs USING GIN (stems);
CREATE INDEX search_docs_ticket ON search_docs (ticket_id);
