-- A chain of gyms (server/chain/, docs/scaling.md): the results this hub shares and those it received
-- from the other gyms, one row per result (gym id + attempt id), the latest version only.
CREATE TABLE chain_results (
    key TEXT PRIMARY KEY,          -- <gym_id>:<attempt_id>
    gym_id TEXT NOT NULL,
    attempt_id TEXT NOT NULL,
    version INTEGER NOT NULL,      -- 0 first, +1 each time the shared record changes (only a higher one replaces a row)
    club TEXT NOT NULL,
    athlete TEXT NOT NULL,         -- the wall name (nickname or "Anna K."), never a full name
    person TEXT NOT NULL,          -- who, within the gym (an opaque key): one best per person on a board
    station_id TEXT NOT NULL,
    drill TEXT NOT NULL,           -- <station kind>:<course>, e.g. "sled:10 m" (comparable across gyms)
    status TEXT NOT NULL,          -- OK, DNF, DQ, RERUN, ..., DELETED
    time_s REAL,
    finished_at REAL NOT NULL,     -- Unix time (s), the gym's clock
    received_at REAL NOT NULL,     -- Unix time (s), this hub's clock
    seq INTEGER NOT NULL           -- this hub's change counter: GET /api/results?since= pages on it
);
CREATE INDEX chain_results_drill ON chain_results (drill, finished_at);
CREATE UNIQUE INDEX chain_results_seq ON chain_results (seq);

-- How far the publisher has looked (results rowid, corrections id, members updated_at) and the last seq
-- taken from each peer by reconciliation, so a restart goes on where it stopped.
CREATE TABLE chain_cursor (
    name TEXT PRIMARY KEY,         -- results_rowid | corrections_id | members_updated_at | peer:<url>
    value NUMERIC NOT NULL
);
