DROP TABLE outbox_events;
DROP TABLE processed_events;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE notifications;
