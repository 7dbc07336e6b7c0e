DROP TABLE processed_events;
DROP TABLE reservation_items;
DROP TABLE stock_reservations;
