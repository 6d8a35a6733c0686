-- Every stroke ever stored, per machine: a counter that retention never lowers
-- (Sparkplug's `Strokes` metric must not go backwards, across restarts included).
CREATE TABLE stroke_total (
    machine TEXT PRIMARY KEY NOT NULL,
    strokes INTEGER NOT NULL
);
INSERT INTO stroke_total (machine, strokes) SELECT machine, count(*) FROM stroke GROUP BY machine;
