-- The language each customer is written to in (issue #20): chosen from a rule, the first
-- mail's Content-Language, or detected from its text; used for every mail to that address.
CREATE TABLE contacts (
    address TEXT PRIMARY KEY NOT NULL,
    language TEXT NOT NULL,
    source TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
