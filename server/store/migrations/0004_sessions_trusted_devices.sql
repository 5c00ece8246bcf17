-- issue 16: sign-in sessions kept on the hub (sign-out, a PIN change and "sign out everywhere" end
-- them at once) and the devices a user has signed in from (exempt from the per-name sign-in delay).
-- Both keep only a SHA-256 of the random token the browser holds in its cookie.
-- (Numbered 0004 on the auth branch, its reserved number is 0005: renumber when merging.)
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE TABLE trusted_devices (
    token_hash TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    last_used_at REAL NOT NULL,
    PRIMARY KEY (token_hash, user_id)
);
CREATE INDEX trusted_devices_user ON trusted_devices (user_id);
