-- Pinned model versions and who owns each model and app name.

-- The model versions each deployment runs, resolved from its app's requirements when it was
-- made (or, for deployments made before this table, when the control plane next starts).
CREATE TABLE deployment_models (
    deployment_id TEXT NOT NULL REFERENCES deployments (id),
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    PRIMARY KEY (deployment_id, model_name),
    FOREIGN KEY (model_name, model_version) REFERENCES models (name, version)
);

-- The owner of each model and app name: whoever first uploaded a version of it. `kind` is
-- `model` or `app`.
CREATE TABLE owners (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    owner TEXT NOT NULL,
    PRIMARY KEY (kind, name)
);

-- Names uploaded before owners were kept belong to the uploader of their oldest version (the
-- first of them by name, should two share that moment).
INSERT INTO owners (kind, name, owner)
SELECT 'model', m.name, MIN(m.uploaded_by) FROM models m
WHERE m.created_at = (SELECT MIN(f.created_at) FROM models f WHERE f.name = m.name)
GROUP BY m.name;

INSERT INTO owners (kind, name, owner)
SELECT 'app', a.name, MIN(a.uploaded_by) FROM apps a
WHERE a.created_at = (SELECT MIN(f.created_at) FROM apps f WHERE f.name = a.name)
GROUP BY a.name;
