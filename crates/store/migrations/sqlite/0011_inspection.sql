-- The parts library: a DXF drawing per part number and revision, with the options that
-- read it (JSON) and its outline's area and hole count, by which a photo of an unnamed
-- part is matched.
CREATE TABLE part_drawing (
    part      TEXT    NOT NULL,
    revision  TEXT    NOT NULL,
    file_name TEXT    NOT NULL,
    dxf       BLOB    NOT NULL,
    options   TEXT    NOT NULL,
    area_mm2  REAL    NOT NULL,
    holes     INTEGER NOT NULL,
    origin    TEXT    NOT NULL,   -- upload | folder
    added_by  TEXT    NOT NULL,
    added_ms  INTEGER NOT NULL,
    PRIMARY KEY (part, revision)
);

-- Every inspection that reached a verdict (refusals are not verdicts and are not here).
CREATE TABLE inspection (
    id               INTEGER PRIMARY KEY,
    t_ms             INTEGER NOT NULL,
    station          TEXT    NOT NULL,
    part             TEXT    NOT NULL,
    revision         TEXT    NOT NULL,
    operator         TEXT,
    trigger          TEXT    NOT NULL,   -- button | api | auto | folder
    verdict          TEXT    NOT NULL,   -- pass | fail
    match_confidence REAL,               -- when the part was matched, not named
    failed           INTEGER NOT NULL,   -- features not passed, and extra material
    report           TEXT    NOT NULL,   -- the report JSON of `sheetsight inspect`
    overlay          TEXT,               -- file names in the data folder's inspections/
    photo            TEXT
);
CREATE INDEX inspection_part_time ON inspection (part, t_ms);
CREATE INDEX inspection_station_time ON inspection (station, t_ms);
CREATE INDEX inspection_time ON inspection (t_ms);

-- Each feature's measures, for control charts without reading every report.
CREATE TABLE inspection_feature (
    inspection        INTEGER NOT NULL REFERENCES inspection (id) ON DELETE CASCADE,
    feature           TEXT    NOT NULL,
    kind              TEXT    NOT NULL,   -- hole | cutout | outline
    position_error_mm REAL,
    diameter_error_mm REAL,
    deviation_mm      REAL,
    verdict           TEXT    NOT NULL,
    PRIMARY KEY (inspection, feature)
) WITHOUT ROWID;
