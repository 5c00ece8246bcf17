-- stations, their sensor bindings, nodes seen, finished attempts
CREATE TABLE stations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('sled', 'lane')),
    name TEXT NOT NULL,
    config_json TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE bindings (
    station_id TEXT NOT NULL REFERENCES stations(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    node_id TEXT NOT NULL,
    sensor_id TEXT NOT NULL,
    PRIMARY KEY (station_id, role),
    UNIQUE (node_id, sensor_id)
);
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    boot_id TEXT,
    fw TEXT,
    descriptor_json TEXT,
    state TEXT NOT NULL DEFAULT 'unknown',
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE TABLE results (
    id TEXT PRIMARY KEY,
    station_id TEXT NOT NULL,
    heat_id TEXT,
    class_id TEXT,
    member_id TEXT,
    athlete TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    time_s REAL,
    reaction_s REAL,
    detail_json TEXT NOT NULL,
    finished_at REAL NOT NULL
);
CREATE INDEX results_finished ON results (finished_at DESC);
CREATE INDEX results_station ON results (station_id, finished_at DESC);
