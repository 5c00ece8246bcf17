-- issue 7: sensor calibrations measured on /setup (computed by the hub, pushed to the node), and beam checks
CREATE TABLE calibrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    node_id TEXT NOT NULL,
    sensor_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('load_cell', 'encoder', 'beam', 'dual_beam')),
    params_json TEXT NOT NULL,
    report_json TEXT NOT NULL,
    user_name TEXT NOT NULL DEFAULT '',
    calibrated_at REAL NOT NULL
);
CREATE INDEX calibrations_sensor ON calibrations (node_id, sensor_id, id DESC)
