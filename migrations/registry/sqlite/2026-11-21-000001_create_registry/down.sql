DROP TABLE registry_usage;
DROP TABLE registry_manifests;
DROP TABLE registry_tokens;
DROP TABLE registry_supergraphs;
DROP TABLE registry_subgraphs;
