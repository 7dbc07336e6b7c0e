DROP TABLE outbox_events;
DROP TABLE processed_events;
DROP TABLE payments;
DROP TABLE order_items;
DROP TABLE orders;
DROP TABLE cart_items;
