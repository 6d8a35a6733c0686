-- What the hub's dashboard and API read beside the history.

-- The latest profile of each shop (its machines and shifts, as its edge last sent them):
-- the hub reads a shop's history with it.
CREATE TABLE shop_profile (
    shop_id    TEXT PRIMARY KEY,
    profile    JSONB  NOT NULL,
    updated_ms BIGINT NOT NULL
);

-- Strokes per machine and UTC hour, kept with the strokes in the same transaction:
-- reports and the overview count long ranges from it and only the partial hours at the
-- ends from `stroke`.
CREATE TABLE stroke_hour (
    shop_id TEXT   NOT NULL,
    machine TEXT   NOT NULL,
    hour_ms BIGINT NOT NULL,
    strokes BIGINT NOT NULL,
    PRIMARY KEY (shop_id, machine, hour_ms)
);
INSERT INTO stroke_hour (shop_id, machine, hour_ms, strokes)
    SELECT shop_id, machine, end_ms - mod(end_ms, 3600000), count(*) FROM stroke GROUP BY 1, 2, 3;

DO $$
DECLARE tbl TEXT;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['shop_profile', 'stroke_hour'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tbl);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', tbl);
        EXECUTE format('CREATE POLICY shop_rows ON %I USING (shop_id = current_setting(''sheetsight.shop'', true) '
                       'OR current_setting(''sheetsight.shop'', true) = ''*'')', tbl);
    END LOOP;
END $$;

-- People and programs that read the hub. A platform user or token (`shop_id` NULL) sees
-- every shop; a shop's sees only that shop. Passwords are argon2id hashes, tokens and
-- sessions SHA-256 digests. These tables are read before any shop is chosen, so they are
-- not behind row-level security; the hub's queries name the shop of the principal.
CREATE TABLE hub_user (
    name          TEXT PRIMARY KEY,
    password_hash TEXT   NOT NULL,
    shop_id       TEXT REFERENCES shop (id) ON DELETE CASCADE,
    created_ms    BIGINT NOT NULL
);

CREATE TABLE hub_token (
    digest     TEXT PRIMARY KEY,
    name       TEXT   NOT NULL UNIQUE,
    shop_id    TEXT REFERENCES shop (id) ON DELETE CASCADE,
    created_ms BIGINT NOT NULL
);

CREATE TABLE hub_session (
    digest     TEXT PRIMARY KEY,
    user_name  TEXT   NOT NULL REFERENCES hub_user (name) ON DELETE CASCADE,
    csrf       TEXT   NOT NULL,
    expires_ms BIGINT NOT NULL
);
