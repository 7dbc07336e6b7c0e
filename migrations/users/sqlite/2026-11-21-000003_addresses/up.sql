-- No foreign key to users: the profile arrives by event, and an account may save an
-- address before its profile exists.
CREATE TABLE addresses (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL,
    label       TEXT,
    recipient   TEXT NOT NULL,
    line1       TEXT NOT NULL,
    line2       TEXT,
    city        TEXT NOT NULL,
    region      TEXT,
    postal_code TEXT NOT NULL,
    country     TEXT NOT NULL,
    is_default  BOOLEAN NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE INDEX addresses_by_user ON addresses (user_id, id);
