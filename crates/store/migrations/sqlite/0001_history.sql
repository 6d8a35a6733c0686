-- History of a SheetSight service. Times are milliseconds since 1970-01-01 UTC.
-- An interval with end_ms NULL is open: it is the current one of its key.

CREATE TABLE service_run (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    started_ms   INTEGER NOT NULL,
    -- the last time this run's writes reached the disk: what is known up to a crash
    heartbeat_ms INTEGER NOT NULL,
    stopped_ms   INTEGER,
    stop_reason  TEXT,
    version      TEXT NOT NULL
);

CREATE TABLE machine_state (
    machine  TEXT    NOT NULL,
    state    TEXT    NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms   INTEGER,
    run_id   INTEGER NOT NULL REFERENCES service_run (id)
);
CREATE INDEX machine_state_by_time ON machine_state (machine, start_ms);
CREATE INDEX machine_state_open ON machine_state (machine) WHERE end_ms IS NULL;

CREATE TABLE lamp_mode (
    machine  TEXT    NOT NULL,
    lamp     INTEGER NOT NULL,
    color    TEXT    NOT NULL,
    mode     TEXT    NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms   INTEGER,
    run_id   INTEGER NOT NULL REFERENCES service_run (id)
);
CREATE INDEX lamp_mode_by_time ON lamp_mode (machine, start_ms);
CREATE INDEX lamp_mode_open ON lamp_mode (machine, lamp) WHERE end_ms IS NULL;

CREATE TABLE stroke (
    machine  TEXT    NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms   INTEGER NOT NULL,
    run_id   INTEGER NOT NULL REFERENCES service_run (id)
);
CREATE INDEX stroke_by_time ON stroke (machine, end_ms);

CREATE TABLE camera_health (
    camera   TEXT    NOT NULL,
    health   TEXT    NOT NULL,
    detail   TEXT,
    start_ms INTEGER NOT NULL,
    end_ms   INTEGER,
    run_id   INTEGER NOT NULL REFERENCES service_run (id)
);
CREATE INDEX camera_health_by_time ON camera_health (camera, start_ms);
CREATE INDEX camera_health_open ON camera_health (camera) WHERE end_ms IS NULL;
