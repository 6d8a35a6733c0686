-- The index of recorded video: one row per segment file (a camera's compressed pictures
-- as received, see sheetsight-media's segment module). The files are the truth: at every
-- start the index is checked against them and rebuilt where they disagree.
CREATE TABLE recording (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    camera   TEXT    NOT NULL,
    -- Relative to the recordings folder: `<camera>/<start ms>.ssv`.
    file     TEXT    NOT NULL UNIQUE,
    codec    TEXT    NOT NULL,
    -- Presentation times of the first and last picture, ms since 1970 UTC.
    start_ms INTEGER NOT NULL,
    end_ms   INTEGER NOT NULL,
    frames   INTEGER NOT NULL,
    bytes    INTEGER NOT NULL,
    -- 1 while the recorder still appends to it.
    open     INTEGER NOT NULL,
    -- 1 when retention must leave it (it holds a golden cycle).
    keep     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX recording_by_camera ON recording (camera, end_ms);
CREATE INDEX recording_by_start ON recording (start_ms);
