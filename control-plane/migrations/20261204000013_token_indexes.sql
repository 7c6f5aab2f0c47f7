-- Every device and node request finds its caller by the SHA-256 of its token: without these,
-- each one reads the whole table.
CREATE INDEX devices_token_hash ON devices (token_hash);
CREATE INDEX nodes_token_hash ON nodes (token_hash);
