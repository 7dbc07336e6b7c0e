DROP INDEX registry_supergraphs_parent;
ALTER TABLE registry_supergraphs DROP COLUMN parent_id;
