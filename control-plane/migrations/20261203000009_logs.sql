-- The log service: every instance's log lines and every lifecycle event, newest last. `id` is
-- given by the control plane (one writer orders the lines, so pages and the live tail agree);
-- `level` is its rank (0 trace .. 4 error) so "this level or worse" is a comparison; `app` and
-- `owner` are copied from the deployment when the line arrives, so a line stays readable by
-- the right people after its deployment is gone; `bytes` is what the line costs, for the size
-- limit. The text-search index differs between SQLite (FTS5) and PostgreSQL (tsvector/GIN), so
-- the control plane adds it when it connects (db/logs.rs, `prepare_search`).
CREATE TABLE log_lines (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    level BIGINT NOT NULL,
    source TEXT NOT NULL,
    event TEXT,
    node TEXT,
    deployment_id TEXT,
    instance TEXT,
    app TEXT,
    app_version TEXT,
    owner TEXT,
    text TEXT NOT NULL,
    bytes BIGINT NOT NULL
);

CREATE INDEX log_lines_at ON log_lines (at);
CREATE INDEX log_lines_deployment ON log_lines (deployment_id, id);
CREATE INDEX log_lines_app ON log_lines (app, id);
CREATE INDEX log_lines_owner ON log_lines (owner, id);
CREATE INDEX log_lines_node ON log_lines (node, id);
