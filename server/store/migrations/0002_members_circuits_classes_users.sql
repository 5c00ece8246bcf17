-- issue 5: roster, circuit templates, class sessions, corrections audit trail, hub users (PIN sign-in)
CREATE TABLE members (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    nickname TEXT NOT NULL DEFAULT '',
    opt_out INTEGER NOT NULL DEFAULT 0 CHECK (opt_out IN (0, 1)),
    archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE UNIQUE INDEX members_name ON members (name COLLATE NOCASE);
CREATE TABLE circuits (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE UNIQUE INDEX circuits_name ON circuits (name COLLATE NOCASE);
CREATE TABLE classes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    circuit_id TEXT,
    circuit_json TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('SETUP', 'READY', 'WORK', 'TRANSITION', 'PAUSED', 'DONE')),
    session_json TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
CREATE INDEX classes_state ON classes (state);
CREATE TABLE class_members (
    class_id TEXT NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    member_id TEXT NOT NULL REFERENCES members(id),
    checked_in_at REAL NOT NULL,
    PRIMARY KEY (class_id, member_id)
);
CREATE TABLE class_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    class_id TEXT NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    round_no INTEGER NOT NULL,
    heat_no INTEGER NOT NULL,
    station_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    attempt_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('armed', 'finished', 'aborted', 'lost')),
    result_id TEXT,
    armed_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX class_attempts_class ON class_attempts (class_id, round_no, heat_no);
CREATE INDEX class_attempts_attempt ON class_attempts (attempt_id);
CREATE TABLE corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    result_id TEXT NOT NULL,
    class_id TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('edit_time', 'dq', 'rerun', 'delete')),
    reason TEXT NOT NULL,
    before_json TEXT NOT NULL,
    after_json TEXT,
    user_id TEXT,
    user_name TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE INDEX corrections_result ON corrections (result_id, id);
CREATE INDEX corrections_class ON corrections (class_id, id);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'instructor', 'display')),
    pin_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE UNIQUE INDEX users_name ON users (name COLLATE NOCASE);
-- results boards may show: not DQ, not voided for a re-run, not of a member who opted out
CREATE VIEW leaderboard_results AS
    SELECT r.* FROM results r LEFT JOIN members m ON m.id = r.member_id
    WHERE COALESCE(m.opt_out, 0) = 0 AND r.status NOT IN ('DQ', 'RERUN')
