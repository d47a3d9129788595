-- AlterEnum
ALTER TYPE "ConsentAction" ADD VALUE 'DECLINE';

-- AlterTable
ALTER TABLE "audiences" ADD COLUMN     "consent_ttl_seconds" INTEGER;

-- AlterTable
ALTER TABLE "clients" ADD COLUMN     "optional_scopes" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "scopes" ADD COLUMN     "optional" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "consents" ADD COLUMN     "confirmed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "declined_scopes" TEXT[] DEFAULT ARRAY[]::TEXT[];


-- A consent counts its consent-ttl from the last approval, and for the consents there are, from their last change.
UPDATE "consents" SET "confirmed_at" = "updated_at";

-- record_consent takes the optional scopes declined with dont-ask-again (p_declined) and the
-- audience consent-ttl in seconds (p_ttl). Every approval confirms the consent anew (confirmed_at).
-- An approval of an expired consent replaces it: what it held before is not carried over. Approved
-- scopes leave the declined list, newly declined ones join it (a DECLINE history entry).
-- The Prisma driver adapter splits a migration at every semicolon, so the bodies write them as
-- \073 (octal) inside E-strings, and these comments hold no quote.
DROP FUNCTION record_consent_in_session(text, text, text, uuid, text, text, text[], text);
DROP FUNCTION record_consent(uuid, text, text, text[], text);
CREATE FUNCTION record_consent(p_user uuid, p_audience text, p_client text, p_approved text[], p_claim text, p_declined text[], p_ttl int)
RETURNS TABLE (outcome text, scopes text[], added text[]) LANGUAGE plpgsql AS E'
DECLARE
  v_id uuid\073
  v_before text[]\073
  v_old text[]\073
  v_clients text[]\073
  v_declined text[]\073
  v_now_declined text[]\073
  v_newly_declined text[]\073
  v_confirmed timestamptz\073
  v_expired boolean\073
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
  INSERT INTO consents AS c (id, user_id, audience_id, scopes, client_ids, declined_scopes, confirmed_at, created_at, updated_at)
    VALUES (gen_random_uuid(), p_user, p_audience, ''{}'', ''{}'', ''{}'', now(), now(), now())
    ON CONFLICT (user_id, audience_id) DO UPDATE SET updated_at = c.updated_at
    RETURNING c.id, coalesce(c.scopes, ''{}''), coalesce(c.client_ids, ''{}''), coalesce(c.declined_scopes, ''{}''), c.confirmed_at
    INTO v_id, v_before, v_clients, v_declined, v_confirmed\073
  v_old := v_before\073
  v_expired := p_ttl IS NOT NULL AND cardinality(v_before) > 0 AND v_confirmed <= now() - make_interval(secs => p_ttl)\073
  IF v_expired THEN
    v_before := ''{}''\073
  END IF\073
  SELECT coalesce(array_agg(a.s ORDER BY a.i), ''{}'') INTO v_added
    FROM (SELECT s, min(i) AS i FROM unnest(p_approved) WITH ORDINALITY AS t(s, i) WHERE NOT (s = ANY(v_before)) GROUP BY s) a\073
  SELECT coalesce(array_agg(DISTINCT d), ''{}'') INTO v_newly_declined
    FROM unnest(coalesce(p_declined, ''{}'')) AS d WHERE NOT (d = ANY(v_declined)) AND NOT (d = ANY(p_approved))\073
  SELECT coalesce(array_agg(d), ''{}'') INTO v_now_declined
    FROM unnest(v_declined || v_newly_declined) AS d WHERE NOT (d = ANY(p_approved))\073
  v_new_client := NOT (p_client = ANY(v_clients))\073
  UPDATE consents SET scopes = v_before || v_added,
                      client_ids = CASE WHEN v_new_client THEN v_clients || p_client ELSE v_clients END,
                      declined_scopes = v_now_declined,
                      confirmed_at = now(),
                      updated_at = now()
    WHERE id = v_id\073
  IF v_expired THEN
    INSERT INTO consent_events (user_id, audience_id, client_id, action, scopes_added, scopes_removed, created_at)
      VALUES (p_user, p_audience, p_client, ''GRANT''::"ConsentAction", v_added,
              ARRAY(SELECT o FROM unnest(v_old) AS o WHERE NOT (o = ANY(v_added))), now())\073
  ELSIF cardinality(v_added) > 0 THEN
    INSERT INTO consent_events (user_id, audience_id, client_id, action, scopes_added, scopes_removed, created_at)
      VALUES (p_user, p_audience, p_client, (CASE WHEN cardinality(v_before) = 0 THEN ''GRANT'' ELSE ''MERGE'' END)::"ConsentAction", v_added, ''{}'', now())\073
  END IF\073
  IF cardinality(v_newly_declined) > 0 THEN
    INSERT INTO consent_events (user_id, audience_id, client_id, action, scopes_added, scopes_removed, created_at)
      VALUES (p_user, p_audience, p_client, ''DECLINE''::"ConsentAction", ''{}'', v_newly_declined, now())\073
  END IF\073
  RETURN QUERY SELECT ''recorded''::text, v_before || v_added, v_added\073
END';

CREATE FUNCTION record_consent_in_session(p_sid text, p_csrf text, p_subject text, p_user uuid, p_audience text, p_client text, p_approved text[], p_claim text, p_declined text[], p_ttl int)
RETURNS TABLE (session_data json, outcome text, scopes text[], added text[]) LANGUAGE plpgsql AS E'
DECLARE
  v_sess json\073
  v_owner text\073
BEGIN
  SELECT s.sess INTO v_sess FROM session s WHERE s.sid = p_sid AND s.expire >= now()\073
  v_owner := v_sess->>''userId''\073
  IF v_sess IS NULL OR p_csrf IS NULL
     OR json_typeof(v_sess->''csrfToken'') IS DISTINCT FROM ''string'' OR (v_sess->>''csrfToken'') <> p_csrf
     OR (v_owner IS NOT NULL AND v_owner <> '''' AND v_owner <> p_subject) THEN
    RETURN QUERY SELECT v_sess, ''refused''::text, NULL::text[], NULL::text[]\073
    RETURN\073
  END IF\073
  RETURN QUERY SELECT v_sess, r.outcome, r.scopes, r.added FROM record_consent(p_user, p_audience, p_client, p_approved, p_claim, p_declined, p_ttl) r\073
END';
