DROP INDEX products_category;
ALTER TABLE products DROP COLUMN deleted_at;
ALTER TABLE products DROP COLUMN category;
