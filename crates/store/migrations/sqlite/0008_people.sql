-- People in zones. A zone's debounced head count as intervals (like machine states);
-- operator_of names the machine whose operator zone it was when the count was stored,
-- so attended time does not depend on today's configuration.
CREATE TABLE zone_presence (
    zone        TEXT    NOT NULL,
    operator_of TEXT,
    people      INTEGER NOT NULL,
    start_ms    INTEGER NOT NULL,
    end_ms      INTEGER,
    run_id      INTEGER NOT NULL REFERENCES service_run (id)
);
CREATE INDEX zone_presence_by_time ON zone_presence (zone, start_ms);
CREATE INDEX zone_presence_by_operator ON zone_presence (operator_of, start_ms) WHERE operator_of IS NOT NULL;
CREATE INDEX zone_presence_open ON zone_presence (zone) WHERE end_ms IS NULL;

-- Advisory safety events: someone in a danger zone while its machine executed. The
-- snapshot is a file name in the data folder's `safety` folder, if one was kept.
CREATE TABLE safety_event (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    zone     TEXT    NOT NULL,
    machine  TEXT    NOT NULL,
    people   INTEGER NOT NULL,
    t_ms     INTEGER NOT NULL,
    snapshot TEXT,
    run_id   INTEGER NOT NULL REFERENCES service_run (id)
);
CREATE INDEX safety_event_by_time ON safety_event (machine, t_ms);
