-- The index is written in the mail's transaction: FTS5's automatic merging of its segments
-- is left to `serve`, which merges a little at a time in the background
-- (store/models/search.rs merge_index); FTS5 still merges at once when a level reaches
-- crisismerge segments, so an `ingest`-only desk keeps a bounded index too.
INSERT INTO search_docs(search_docs, rank) VALUES ('automerge', 0);
