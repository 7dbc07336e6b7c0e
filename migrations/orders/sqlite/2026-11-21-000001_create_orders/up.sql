-- Each user's cart: what checkout will order.
CREATE TABLE cart_items (
    user_id    TEXT NOT NULL,
    product_id TEXT NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    added_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, product_id)
);

-- pending → paid → shipped, or pending → cancelled (payment failed, or the user cancelled).
CREATE TABLE orders (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    state           TEXT NOT NULL,
    total_cents     BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    -- The client's key for this checkout: a retried checkout finds its order.
    idempotency_key TEXT NOT NULL,
    -- The stock held for it in the products subgraph.
    reservation_id  TEXT NOT NULL,
    payment_method  TEXT NOT NULL,
    failure_reason  TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX orders_user ON orders (user_id, id);

CREATE TABLE order_items (
    order_id         TEXT NOT NULL REFERENCES orders (id),
    product_id       TEXT NOT NULL,
    name             TEXT NOT NULL,
    quantity         INTEGER NOT NULL,
    unit_price_cents BIGINT NOT NULL,
    PRIMARY KEY (order_id, product_id)
);

-- What the payment worker charged, one per order.
CREATE TABLE payments (
    id             TEXT PRIMARY KEY,
    order_id       TEXT NOT NULL UNIQUE,
    succeeded      BOOLEAN NOT NULL,
    amount_cents   BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    failure_reason TEXT,
    created_at     TIMESTAMP NOT NULL
);

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
