DROP TABLE outbox_events;
DROP TABLE signing_keys;
DROP TABLE refresh_tokens;
DROP TABLE accounts;
