-- The supergraph each one was composed on top of ('' for the first). Unique, so of two
-- registry replicas publishing on top of the same supergraph only one commits; the other
-- recomposes on top of the winner.
ALTER TABLE registry_supergraphs ADD COLUMN parent_id TEXT;
UPDATE registry_supergraphs SET parent_id = 'before-parents:' || id;
CREATE UNIQUE INDEX registry_supergraphs_parent ON registry_supergraphs (parent_id);
