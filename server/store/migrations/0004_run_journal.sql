-- What a hub restart must not lose (server/run_journal.py): the inputs of the attempts still armed or
-- running, in the order the hub applied them, and small bits of hub state (node clock samples).
CREATE TABLE run_journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,            -- arm | go | stop | abort | event | samples
    body TEXT NOT NULL             -- JSON, times on the hub clock (µs)
);

CREATE TABLE hub_state (
    key TEXT PRIMARY KEY,          -- host_boot | clock
    value TEXT NOT NULL            -- JSON
);
