-- Every published version of every subgraph; the newest per name is in service.
CREATE TABLE registry_subgraphs (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    routing_url  TEXT NOT NULL,
    sdl          TEXT NOT NULL,
    published_by TEXT NOT NULL,
    published_at TIMESTAMP NOT NULL
);
CREATE INDEX registry_subgraphs_name ON registry_subgraphs (name, id);

-- Every supergraph the registry composed; the newest is in service.
CREATE TABLE registry_supergraphs (
    id           TEXT PRIMARY KEY,
    sdl          TEXT NOT NULL,
    subgraph     TEXT NOT NULL,
    summary      TEXT NOT NULL,
    published_by TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);

-- API tokens, stored as SHA-256 of the secret.
CREATE TABLE registry_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scopes     TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- One persisted-query manifest per client.
CREATE TABLE registry_manifests (
    client       TEXT PRIMARY KEY,
    manifest     TEXT NOT NULL,
    published_by TEXT NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

-- Operations routers saw, per report.
CREATE TABLE registry_usage (
    id          TEXT PRIMARY KEY,
    client      TEXT NOT NULL,
    body        TEXT NOT NULL,
    count       BIGINT NOT NULL,
    reported_at TIMESTAMP NOT NULL
);
CREATE INDEX registry_usage_reported_at ON registry_usage (reported_at);
