-- The [[identities]] entry a ticket is answered as (NULL: the default [identity]).
ALTER TABLE tickets ADD COLUMN identity TEXT;
