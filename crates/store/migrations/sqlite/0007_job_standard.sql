-- Standard work per machine and job: the golden cycle, the standard cycle time (NULL:
-- the golden cycle's duration) and the standard steps in English and Chinese.
CREATE TABLE job_standard (
    machine      TEXT    NOT NULL,
    job          TEXT    NOT NULL,
    golden_cycle INTEGER REFERENCES cycle (id) ON DELETE SET NULL,
    standard_ms  INTEGER,
    steps_en     TEXT    NOT NULL DEFAULT '',
    steps_zh     TEXT    NOT NULL DEFAULT '',
    updated_by   TEXT    NOT NULL,
    updated_ms   INTEGER NOT NULL,
    PRIMARY KEY (machine, job)
);
