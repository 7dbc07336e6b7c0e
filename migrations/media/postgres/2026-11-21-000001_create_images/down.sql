DROP TABLE outbox_events;
DROP TABLE processed_events;
DROP TABLE images;
