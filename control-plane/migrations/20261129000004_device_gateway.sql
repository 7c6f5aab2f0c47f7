-- Devices that speak HTTP rather than Kafka authenticate with a token issued at registration;
-- a controller reports its state (JSON) back through the gateway.
ALTER TABLE devices ADD COLUMN token_hash TEXT;
ALTER TABLE devices ADD COLUMN state TEXT;
