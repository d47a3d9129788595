-- Every time becomes timestamp with time zone, keeping its instant: the columns held UTC wall-clock
-- times (as Prisma wrote them, and the app wrote now() AT TIME ZONE UTC), so each value is read as
-- UTC. The session table is the exception: its expiry was written as a timestamptz and stored in the
-- connection time zone, the server default, so it is read in that zone. Each table is rewritten
-- under an exclusive lock: on a large database, run it in a quiet hour.
-- AlterTable
ALTER TABLE "audiences" ALTER COLUMN "created_at" SET DATA TYPE TIMESTAMPTZ(3) USING "created_at" AT TIME ZONE 'UTC',
ALTER COLUMN "updated_at" SET DATA TYPE TIMESTAMPTZ(3) USING "updated_at" AT TIME ZONE 'UTC';

-- AlterTable
ALTER TABLE "clients" ALTER COLUMN "created_at" SET DATA TYPE TIMESTAMPTZ(3) USING "created_at" AT TIME ZONE 'UTC',
ALTER COLUMN "updated_at" SET DATA TYPE TIMESTAMPTZ(3) USING "updated_at" AT TIME ZONE 'UTC';

-- AlterTable
ALTER TABLE "scopes" ALTER COLUMN "created_at" SET DATA TYPE TIMESTAMPTZ(3) USING "created_at" AT TIME ZONE 'UTC',
ALTER COLUMN "updated_at" SET DATA TYPE TIMESTAMPTZ(3) USING "updated_at" AT TIME ZONE 'UTC';

-- AlterTable
ALTER TABLE "claims" ALTER COLUMN "created_at" SET DATA TYPE TIMESTAMPTZ(3) USING "created_at" AT TIME ZONE 'UTC',
ALTER COLUMN "updated_at" SET DATA TYPE TIMESTAMPTZ(3) USING "updated_at" AT TIME ZONE 'UTC';

-- AlterTable
ALTER TABLE "users" ALTER COLUMN "disabled_at" SET DATA TYPE TIMESTAMPTZ(3) USING "disabled_at" AT TIME ZONE 'UTC',
ALTER COLUMN "pending_since" SET DATA TYPE TIMESTAMPTZ(3) USING "pending_since" AT TIME ZONE 'UTC',
ALTER COLUMN "created_at" SET DATA TYPE TIMESTAMPTZ(3) USING "created_at" AT TIME ZONE 'UTC',
ALTER COLUMN "updated_at" SET DATA TYPE TIMESTAMPTZ(3) USING "updated_at" AT TIME ZONE 'UTC';

-- AlterTable
ALTER TABLE "consents" ALTER COLUMN "created_at" SET DATA TYPE TIMESTAMPTZ(3) USING "created_at" AT TIME ZONE 'UTC',
ALTER COLUMN "updated_at" SET DATA TYPE TIMESTAMPTZ(3) USING "updated_at" AT TIME ZONE 'UTC';

-- AlterTable
ALTER TABLE "consent_events" ALTER COLUMN "created_at" SET DATA TYPE TIMESTAMPTZ(3) USING "created_at" AT TIME ZONE 'UTC';

-- AlterTable
ALTER TABLE "invitations" ALTER COLUMN "expires_at" SET DATA TYPE TIMESTAMPTZ(3) USING "expires_at" AT TIME ZONE 'UTC',
ALTER COLUMN "used_at" SET DATA TYPE TIMESTAMPTZ(3) USING "used_at" AT TIME ZONE 'UTC',
ALTER COLUMN "created_at" SET DATA TYPE TIMESTAMPTZ(3) USING "created_at" AT TIME ZONE 'UTC';

-- AlterTable
ALTER TABLE "handled_challenges" ALTER COLUMN "handled_at" SET DATA TYPE TIMESTAMPTZ(3) USING "handled_at" AT TIME ZONE 'UTC';

-- AlterTable
ALTER TABLE "session" ALTER COLUMN "expire" SET DATA TYPE TIMESTAMPTZ(6) USING "expire" AT TIME ZONE current_setting('TimeZone');

-- AlterTable
ALTER TABLE "one_time_tokens" ALTER COLUMN "expires_at" SET DATA TYPE TIMESTAMPTZ(3) USING "expires_at" AT TIME ZONE 'UTC',
ALTER COLUMN "used_at" SET DATA TYPE TIMESTAMPTZ(3) USING "used_at" AT TIME ZONE 'UTC',
ALTER COLUMN "created_at" SET DATA TYPE TIMESTAMPTZ(3) USING "created_at" AT TIME ZONE 'UTC';

-- AlterTable
ALTER TABLE "outbox" ALTER COLUMN "next_attempt_at" SET DATA TYPE TIMESTAMPTZ(3) USING "next_attempt_at" AT TIME ZONE 'UTC',
ALTER COLUMN "sent_at" SET DATA TYPE TIMESTAMPTZ(3) USING "sent_at" AT TIME ZONE 'UTC',
ALTER COLUMN "created_at" SET DATA TYPE TIMESTAMPTZ(3) USING "created_at" AT TIME ZONE 'UTC';


-- record_consent writes now() itself (it wrote UTC wall-clock times), and its disabled_at variable
-- takes the new type. Prisma driver adapter splits a migration at every semicolon, so the body
-- writes them as \073 (octal) inside an E-string, as the function first did.
CREATE OR REPLACE FUNCTION record_consent(p_user uuid, p_audience text, p_client text, p_approved text[], p_claim text)
RETURNS TABLE (outcome text, scopes text[], added text[]) LANGUAGE plpgsql AS E'
DECLARE
  v_id uuid\073
  v_before text[]\073
  v_clients text[]\073
  v_added text[]\073
  v_disabled timestamptz\073
  v_new_client boolean\073
BEGIN
  PERFORM set_config(''synchronous_commit'', ''on'', true)\073
  SELECT u.disabled_at INTO v_disabled FROM users u WHERE u.id = p_user\073
  IF NOT FOUND THEN
    RETURN QUERY SELECT ''no_user''::text, NULL::text[], NULL::text[]\073
    RETURN\073
  END IF\073
  IF v_disabled IS NOT NULL THEN
    RETURN QUERY SELECT ''disabled''::text, NULL::text[], NULL::text[]\073
    RETURN\073
  END IF\073
  IF p_claim IS NOT NULL THEN
    INSERT INTO handled_challenges (hash, kind, handled_at) VALUES (p_claim, ''consent'', now()) ON CONFLICT (hash) DO NOTHING\073
    IF NOT FOUND THEN
      RETURN QUERY SELECT ''handled''::text, NULL::text[], NULL::text[]\073
      RETURN\073
    END IF\073
  END IF\073
  INSERT INTO consents AS c (id, user_id, audience_id, scopes, client_ids, created_at, updated_at)
    VALUES (gen_random_uuid(), p_user, p_audience, ''{}'', ''{}'', now(), now())
    ON CONFLICT (user_id, audience_id) DO UPDATE SET updated_at = c.updated_at
    RETURNING c.id, coalesce(c.scopes, ''{}''), coalesce(c.client_ids, ''{}'') INTO v_id, v_before, v_clients\073
  SELECT coalesce(array_agg(a.s ORDER BY a.i), ''{}'') INTO v_added
    FROM (SELECT s, min(i) AS i FROM unnest(p_approved) WITH ORDINALITY AS t(s, i) WHERE NOT (s = ANY(v_before)) GROUP BY s) a\073
  v_new_client := NOT (p_client = ANY(v_clients))\073
  IF cardinality(v_added) > 0 OR v_new_client THEN
    UPDATE consents SET scopes = v_before || v_added,
                        client_ids = CASE WHEN v_new_client THEN v_clients || p_client ELSE v_clients END,
                        updated_at = now()
      WHERE id = v_id\073
  END IF\073
  IF cardinality(v_added) > 0 THEN
    INSERT INTO consent_events (user_id, audience_id, client_id, action, scopes_added, scopes_removed, created_at)
      VALUES (p_user, p_audience, p_client, (CASE WHEN cardinality(v_before) = 0 THEN ''GRANT'' ELSE ''MERGE'' END)::"ConsentAction", v_added, ''{}'', now())\073
  END IF\073
  RETURN QUERY SELECT ''recorded''::text, v_before || v_added, v_added\073
END';
