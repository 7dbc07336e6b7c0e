-- Products belong to one category (a slug like `lighting`); a deleted product is hidden
-- from the catalogue but kept for the orders that reference it.
ALTER TABLE products ADD COLUMN category TEXT NOT NULL DEFAULT 'general';
ALTER TABLE products ADD COLUMN deleted_at TIMESTAMP;
CREATE INDEX products_category ON products (category);
