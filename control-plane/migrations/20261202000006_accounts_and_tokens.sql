-- Accounts that can be disabled, sessions that can be listed and revoked, nodes that can be
-- drained.

-- When an admin disabled the user; NULL while the user may log in.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;

-- A session's id is what listings show and revocation names: never the token, nor its hash.
ALTER TABLE sessions ADD COLUMN id TEXT;
ALTER TABLE sessions ADD COLUMN created_at BIGINT;
-- Updated at most once a minute, so a busy session does not write on every request.
ALTER TABLE sessions ADD COLUMN last_used_at BIGINT;
-- Sessions from before this migration get an id derived from their hash (the same shape as a
-- new id); when they started is not known.
UPDATE sessions SET id = 'ses_' || substr(token_hash, 1, 16);
CREATE UNIQUE INDEX sessions_by_id ON sessions (id);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- When a configurer asked the node to drain; NULL while it takes work. A draining node gets no
-- new instances and its instances move to other nodes.
ALTER TABLE nodes ADD COLUMN drain_requested_at BIGINT;
