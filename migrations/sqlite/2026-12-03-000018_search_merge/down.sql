INSERT INTO search_docs(search_docs, rank) VALUES ('automerge', 4);
