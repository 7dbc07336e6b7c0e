DROP TABLE outbox_events;
DROP TABLE users;
