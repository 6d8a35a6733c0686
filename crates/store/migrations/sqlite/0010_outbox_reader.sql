-- Who reads the outbox, and how far each has read: the hub (what it acknowledged) and a
-- Sparkplug primary host (what was published to it while it was online). A row leaves
-- the outbox once every reader is past it.
CREATE TABLE outbox_reader (
    name TEXT PRIMARY KEY NOT NULL,
    seq  INTEGER NOT NULL
);
