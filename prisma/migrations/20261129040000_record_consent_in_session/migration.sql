-- record_consent_in_session: the approval of a consent form and the session of the browser in one
-- round trip (issue #12). Reads the live session row p_sid. Only when it holds the CSRF token of the
-- form (the "csrfToken" of csrf-sync, compared as the app compares it: equal strings) and belongs to
-- nobody or to the subject ("userId" absent, empty or equal to p_subject: guardConsent in
-- flow-binding.ts) does it call record_consent (the claim, the account check, the merge, the history
-- entry, a durable commit). Returns one row: the data of the session (NULL: no live session) and the
-- outcome, scopes and added of record_consent, or the outcome "refused" when the session does not
-- allow it: then nothing is written. The app checks the token and the browser again with the
-- session read here.
-- The driver adapter of Prisma splits a migration at every semicolon (and reads quotes in comments),
-- so the body writes semicolons as \073 (octal) inside an E-string and these comments hold no quote.
CREATE FUNCTION record_consent_in_session(p_sid text, p_csrf text, p_subject text, p_user uuid, p_audience text, p_client text, p_approved text[], p_claim text)
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
  RETURN QUERY SELECT v_sess, r.outcome, r.scopes, r.added FROM record_consent(p_user, p_audience, p_client, p_approved, p_claim) r\073
END';
