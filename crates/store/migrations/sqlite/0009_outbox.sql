-- The outbox to a hub (see the store's `outbox` module): every change to the history in
-- the order it was stored, until the hub acknowledges it. AUTOINCREMENT: a sequence
-- number is never handed out twice, not after deletion and not after a restart. The
-- epoch is drawn once, when the database is created: a wiped edge starts a new one.
CREATE TABLE outbox_epoch (
    epoch      TEXT    NOT NULL,
    created_ms INTEGER NOT NULL
);
INSERT INTO outbox_epoch (epoch, created_ms)
VALUES (lower(hex(randomblob(16))), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));

CREATE TABLE outbox (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT    NOT NULL,  -- history | strokes (may be dropped when full) | dropped
    strokes INTEGER NOT NULL,  -- strokes in a `strokes` row
    body    TEXT    NOT NULL   -- the change as JSON
);
CREATE INDEX outbox_strokes ON outbox (seq) WHERE kind = 'strokes';
