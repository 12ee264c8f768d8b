-- A token's own request quota per minute (NULL: rate.token_requests_per_minute; 0: none).
ALTER TABLE tokens ADD COLUMN requests_per_minute INTEGER;
