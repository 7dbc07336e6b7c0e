-- Credentials. The profile (name, addresses) belongs to the users subgraph.
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    -- Space-separated OAuth-style scopes put in access tokens.
    scopes        TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

-- Refresh tokens, stored as SHA-256 of the secret. A refresh replaces the token; using a
-- replaced (revoked) token again revokes the whole family (the token was stolen).
CREATE TABLE refresh_tokens (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    family_id  TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- Ed25519 signing keys; the newest signs, all recent ones are in the JWKS.
CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    -- The 32-byte private seed, base64.
    seed       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE outbox_events (
    seq        BIGSERIAL PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
