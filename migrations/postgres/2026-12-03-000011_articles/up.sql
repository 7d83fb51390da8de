-- Knowledge articles agents saved by mail (`#kb save NAME`); the files of [knowledge] dir are
-- read at start and not kept here. Saving a name again replaces its text.
CREATE TABLE articles (
    name TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    saved_at BIGINT NOT NULL
);
