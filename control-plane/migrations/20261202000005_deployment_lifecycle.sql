-- A deployment's life after creation: its owner may stop, start, change, upgrade, roll back and
-- delete it, and each of those is kept in its history.

-- `running` or `stopped`: whether its owner wants it to run (within its schedule).
ALTER TABLE deployments ADD COLUMN run_state TEXT NOT NULL DEFAULT 'running';
-- The parameter values its owner gave, as JSON text by name (`config` has the manifest's defaults
-- filled in), so an upgrade takes the new version's defaults and keeps only what was chosen.
-- NULL for deployments made before: their whole `config` counts as chosen.
ALTER TABLE deployments ADD COLUMN config_set TEXT;
-- Deleted deployments keep their row and history (for audit) but are neither shown nor run.
ALTER TABLE deployments ADD COLUMN deleted_at BIGINT;
-- Until when a failing instance of a new version is rolled back by the control plane: set by an
-- upgrade, cleared by a rollback.
ALTER TABLE deployments ADD COLUMN watch_until BIGINT;
-- The last thing that happened to it worth telling (an automatic rollback and why), shown as
-- its detail while its instance has nothing to say.
ALTER TABLE deployments ADD COLUMN note TEXT NOT NULL DEFAULT '';

-- Each deployment's history: one row per event, numbered from 1 per deployment.
CREATE TABLE deployment_events (
    deployment_id TEXT NOT NULL REFERENCES deployments (id),
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    from_version TEXT,
    -- For `changed`: a JSON list of {field, from, to}.
    changes TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (deployment_id, seq)
);

-- Deployments made before there was a history begin it with their creation.
INSERT INTO deployment_events (deployment_id, seq, at, actor, kind, version, from_version, changes, reason)
SELECT id, 1, created_at, owner, 'created', app_version, NULL, '[]', '' FROM deployments;
