DROP TABLE outbox_events;
DROP INDEX products_seller_id;
DROP TABLE products;
