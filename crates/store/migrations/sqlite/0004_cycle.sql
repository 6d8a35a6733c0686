-- Every cycle of work, with the job the machine ran when it began (its job note open at
-- the cycle's start) and who gave that job. Times are ms since 1970 UTC.
CREATE TABLE cycle (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    machine  TEXT    NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms   INTEGER NOT NULL,
    strokes  INTEGER NOT NULL,
    job      TEXT,
    operator TEXT,
    run_id   INTEGER NOT NULL REFERENCES service_run (id)
);
CREATE INDEX cycle_by_machine ON cycle (machine, end_ms);
CREATE INDEX cycle_by_job ON cycle (job, end_ms);
