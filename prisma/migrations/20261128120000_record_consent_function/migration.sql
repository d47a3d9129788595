-- record_consent: an approval of a consent step in one round trip (issue #12), committed durably.
-- Arguments: the user, the audience, the client, the approved scopes, and the consent challenge's
-- hash to claim in the same transaction (NULL: claimed already). Returns one row:
--   outcome 'recorded' (scopes: the merged consent, added: what this approval added, in order),
--   'no_user' (the account is gone), 'disabled' (the account is disabled) or 'handled' (the
--   challenge was answered already): then nothing is written.
-- The consent row is created if missing and locked (INSERT ... ON CONFLICT DO UPDATE), so concurrent
-- approvals never lose scopes, the merge is old scopes, then the approved ones not yet in them, in
-- the order approved (src/decisions/consent.ts mergeScopes), an approval that adds scopes is
-- appended to consent_events (GRANT on an empty consent, MERGE otherwise).
-- Prisma's driver adapter splits a migration at every semicolon, so the body writes them as \073
-- (octal) inside an E'' string.
CREATE FUNCTION record_consent(p_user uuid, p_audience text, p_client text, p_approved text[], p_claim text)
RETURNS TABLE (outcome text, scopes text[], added text[]) LANGUAGE plpgsql AS E'
DECLARE
  v_id uuid\073
  v_before text[]\073
  v_clients text[]\073
  v_added text[]\073
  v_disabled timestamp\073
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
    INSERT INTO handled_challenges (hash, kind, handled_at) VALUES (p_claim, ''consent'', now() AT TIME ZONE ''UTC'') ON CONFLICT (hash) DO NOTHING\073
    IF NOT FOUND THEN
      RETURN QUERY SELECT ''handled''::text, NULL::text[], NULL::text[]\073
      RETURN\073
    END IF\073
  END IF\073
  INSERT INTO consents AS c (id, user_id, audience_id, scopes, client_ids, created_at, updated_at)
    VALUES (gen_random_uuid(), p_user, p_audience, ''{}'', ''{}'', now() AT TIME ZONE ''UTC'', now() AT TIME ZONE ''UTC'')
    ON CONFLICT (user_id, audience_id) DO UPDATE SET updated_at = c.updated_at
    RETURNING c.id, coalesce(c.scopes, ''{}''), coalesce(c.client_ids, ''{}'') INTO v_id, v_before, v_clients\073
  SELECT coalesce(array_agg(a.s ORDER BY a.i), ''{}'') INTO v_added
    FROM (SELECT s, min(i) AS i FROM unnest(p_approved) WITH ORDINALITY AS t(s, i) WHERE NOT (s = ANY(v_before)) GROUP BY s) a\073
  v_new_client := NOT (p_client = ANY(v_clients))\073
  IF cardinality(v_added) > 0 OR v_new_client THEN
    UPDATE consents SET scopes = v_before || v_added,
                        client_ids = CASE WHEN v_new_client THEN v_clients || p_client ELSE v_clients END,
                        updated_at = now() AT TIME ZONE ''UTC''
      WHERE id = v_id\073
  END IF\073
  IF cardinality(v_added) > 0 THEN
    INSERT INTO consent_events (user_id, audience_id, client_id, action, scopes_added, scopes_removed, created_at)
      VALUES (p_user, p_audience, p_client, (CASE WHEN cardinality(v_before) = 0 THEN ''GRANT'' ELSE ''MERGE'' END)::"ConsentAction", v_added, ''{}'', now() AT TIME ZONE ''UTC'')\073
  END IF\073
  RETURN QUERY SELECT ''recorded''::text, v_before || v_added, v_added\073
END';
