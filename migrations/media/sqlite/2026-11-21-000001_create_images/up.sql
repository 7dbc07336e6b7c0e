-- Product images: the bytes live in blob storage under blob_key.
CREATE TABLE images (
    id           TEXT PRIMARY KEY,
    product_id   TEXT NOT NULL,
    blob_key     TEXT NOT NULL UNIQUE,
    content_type TEXT NOT NULL,
    filename     TEXT NOT NULL,
    -- pending until the upload is confirmed, then ready.
    state        TEXT NOT NULL,
    size_bytes   BIGINT,
    width        INTEGER,
    height       INTEGER,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX images_product ON images (product_id, id);

CREATE TABLE processed_events (
    consumer     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (consumer, event_id)
);

CREATE TABLE outbox_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
