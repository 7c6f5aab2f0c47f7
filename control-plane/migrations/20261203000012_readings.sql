-- Readings the device gateway accepted, kept for their history: `value` is the JSON the device
-- sent; `number` the same value when it is a number (or a bool, as 0 or 1), so ranges can be
-- summarised in SQL. Removed by age (readings retention).
CREATE TABLE readings (
    sensor_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    value TEXT NOT NULL,
    number DOUBLE PRECISION
);

CREATE INDEX readings_sensor_at ON readings (sensor_id, at);
CREATE INDEX readings_at ON readings (at);

-- Commands the device gateway handed a controller, so its last few can be shown with it.
-- `command` is the command's JSON; removed by age like readings.
CREATE TABLE controller_commands (
    controller_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    deployment_id TEXT NOT NULL,
    command TEXT NOT NULL
);

CREATE INDEX controller_commands_controller_at ON controller_commands (controller_id, at);
CREATE INDEX controller_commands_at ON controller_commands (at);
