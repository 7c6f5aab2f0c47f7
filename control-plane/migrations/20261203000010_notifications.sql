-- Notifications: the one SMTP server an admin sets, who gets which deployment's notifications
-- (and the admins'), and a record of every delivery.

-- The SMTP server; at most one row (`singleton` is always 1). The password is kept to log in
-- with and never answered.
CREATE TABLE smtp_settings (
    singleton BIGINT PRIMARY KEY CHECK (singleton = 1),
    host TEXT NOT NULL,
    port BIGINT NOT NULL,
    security TEXT NOT NULL,
    username TEXT,
    password TEXT,
    sender TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Recipients of a deployment's notifications; `deployment_id` NULL: the admins' (node down).
-- `kind` is `email` (target an address) or `webhook` (target a URL, `secret` its HMAC key).
CREATE TABLE notification_recipients (
    id TEXT PRIMARY KEY,
    deployment_id TEXT REFERENCES deployments (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    secret TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX notification_recipients_by_deployment ON notification_recipients (deployment_id);

-- One row per notification and recipient once its delivery ended (`delivered` or `failed`
-- after `attempts` tries); `channel` `none` records a notification nobody was set to receive.
CREATE TABLE notification_deliveries (
    id TEXT PRIMARY KEY,
    deployment_id TEXT REFERENCES deployments (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    urgency TEXT NOT NULL,
    title TEXT NOT NULL,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL
);
CREATE INDEX notification_deliveries_by_deployment
    ON notification_deliveries (deployment_id, created_at);
