-- The index lives in memory, rebuilt from the product events; the search service keeps
-- only its outbox, which every service has.
CREATE TABLE outbox_events (
    seq        BIGSERIAL PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
