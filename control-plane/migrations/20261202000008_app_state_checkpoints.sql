-- Each deployment's app state as its node last checkpointed it, so a deployment that moves to
-- another node resumes with it. `checkpoint` is the entries and per-topic offsets as JSON;
-- `generation` counts accepted checkpoints; `node_id` is the node that wrote the last one.
CREATE TABLE app_state_checkpoints (
    deployment_id TEXT PRIMARY KEY REFERENCES deployments (id) ON DELETE CASCADE,
    generation BIGINT NOT NULL,
    node_id TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
