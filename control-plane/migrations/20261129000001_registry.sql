-- The registry. Written in the SQL that SQLite and PostgreSQL share, so one set of migrations
-- serves both: text ids, BIGINT times (Unix milliseconds), JSON as TEXT, no booleans.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Only the SHA-256 of a session token is kept, so a copy of the database logs no one in.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    expires_at BIGINT NOT NULL
);

CREATE TABLE sensor_types (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    unit TEXT NOT NULL,
    value_kind TEXT NOT NULL,
    media_type TEXT,
    sampling_hz DOUBLE PRECISION,
    created_at BIGINT NOT NULL
);

CREATE TABLE controller_types (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    commands TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Sensor and controller instances; `kind` says which.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    type_name TEXT NOT NULL,
    site TEXT NOT NULL,
    building TEXT NOT NULL,
    room TEXT NOT NULL,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    labels TEXT NOT NULL,
    users TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (kind, name)
);

CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    labels TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE models (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    description TEXT NOT NULL,
    config TEXT NOT NULL,
    backend TEXT NOT NULL,
    onnx_sha256 TEXT NOT NULL,
    contract_sha256 TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE apps (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    description TEXT NOT NULL,
    manifest TEXT NOT NULL,
    component_sha256 TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE deployments (
    id TEXT PRIMARY KEY,
    app_name TEXT NOT NULL,
    app_version TEXT NOT NULL,
    owner TEXT NOT NULL,
    config TEXT NOT NULL,
    schedule TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (app_name, app_version) REFERENCES apps (name, version)
);

-- One row per (deployment, role, instance): a sensor may be bound into many deployments.
CREATE TABLE deployment_bindings (
    deployment_id TEXT NOT NULL REFERENCES deployments (id),
    role TEXT NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices (id),
    PRIMARY KEY (deployment_id, role, device_id)
);
