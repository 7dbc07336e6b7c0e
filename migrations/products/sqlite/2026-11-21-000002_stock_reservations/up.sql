-- Stock held for an order between checkout and payment. Holding takes the quantity off
-- `products.stock` at once; a release puts it back; a commit keeps it off for good.
CREATE TABLE stock_reservations (
    id         TEXT PRIMARY KEY,
    -- held | committed | released
    state      TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX stock_reservations_expiry ON stock_reservations (state, expires_at);

CREATE TABLE reservation_items (
    reservation_id   TEXT NOT NULL REFERENCES stock_reservations (id),
    product_id       TEXT NOT NULL REFERENCES products (id),
    quantity         INTEGER NOT NULL CHECK (quantity > 0),
    -- The price when reserved: what the order charges.
    unit_price_cents BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    name             TEXT NOT NULL,
    PRIMARY KEY (reservation_id, product_id)
);

-- Events this service applied (see junction_kit::consumer).
CREATE TABLE processed_events (
    consumer     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
