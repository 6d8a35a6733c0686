-- Users, sessions and API tokens of the web side; what people and other systems say
-- about machines (downtime reasons, jobs); alerts. Times are ms since 1970 UTC.

CREATE TABLE app_user (
    name          TEXT PRIMARY KEY,
    password_hash TEXT    NOT NULL,  -- argon2id PHC string
    role          TEXT    NOT NULL,  -- viewer | operator | admin
    created_ms    INTEGER NOT NULL
);

CREATE TABLE app_session (
    token_hash TEXT PRIMARY KEY,     -- SHA-256 of the cookie's token, hex
    user_name  TEXT    NOT NULL REFERENCES app_user (name) ON DELETE CASCADE,
    csrf       TEXT    NOT NULL,
    expires_ms INTEGER NOT NULL
);

CREATE TABLE api_token (
    token_hash TEXT PRIMARY KEY,     -- SHA-256 of the token, hex
    name       TEXT    NOT NULL UNIQUE,
    role       TEXT    NOT NULL,
    created_ms INTEGER NOT NULL
);

-- A reason or a job given to a stretch of a machine's time.
CREATE TABLE machine_note (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    machine    TEXT    NOT NULL,
    kind       TEXT    NOT NULL,     -- reason | job
    value      TEXT    NOT NULL,
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER,              -- NULL: from start on (a job until the next job)
    author     TEXT    NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX machine_note_by_time ON machine_note (machine, kind, start_ms);

CREATE TABLE alert (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    rule        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,    -- a machine or camera id
    message     TEXT    NOT NULL,
    raised_ms   INTEGER NOT NULL,
    cleared_ms  INTEGER,
    acked_by    TEXT,
    acked_ms    INTEGER
);
CREATE INDEX alert_open ON alert (acked_ms, raised_ms);
