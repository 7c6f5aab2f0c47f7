-- Node credentials and heartbeats, and the instance of each deployment: where it is placed and
-- what its node last said of it.

ALTER TABLE nodes ADD COLUMN token_hash TEXT;
ALTER TABLE nodes ADD COLUMN last_seen BIGINT;
-- The node's last heartbeat (metrics and instances), as JSON.
ALTER TABLE nodes ADD COLUMN report TEXT;

CREATE TABLE instances (
    deployment_id TEXT PRIMARY KEY REFERENCES deployments (id),
    node_id TEXT,
    state TEXT NOT NULL,
    detail TEXT NOT NULL,
    restarts BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
