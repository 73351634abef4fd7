-- Live updates (docs/architecture.md "Live updates"): the one definition of the triggers
-- of every daemon that streams its users' changes (order-processor, payment-api,
-- coupon-issuer). Here because these files are applied to every service's schema; a
-- schema that streams nothing never calls it.
--
-- A stream `s` of a table is three objects of the owning service's migrations:
--   s_update_counters (user_id text PRIMARY KEY, last_id bigint)  the last id per user
--   s_updates (user_id, id, type, data jsonb, created_at)         what streams replay
--   s_update_data(<table row>) RETURNS jsonb                       what an update carries
-- and, made here by create_live_update_triggers(table, 's', type, key column), two
-- statement triggers on the table with transition tables:
--   AFTER INSERT, record_s_inserts(): every inserted row;
--   AFTER UPDATE, record_s_updates(): every row whose status changed (PostgreSQL allows
--     transition tables neither with `UPDATE OF status` nor with two events in one
--     trigger, so this trigger sees every update, and joins old and new rows on the key
--     to skip the rows that kept their status).
--
-- Per statement, set-based: one upsert of the counters of the users it touched (k rows
-- of a user move last_id from n to n+k; locked in user_id order, so two statements
-- sharing users never wait on each other in a cycle), then one insert numbering each
-- user's rows n+1..n+k in the statement's row order (a scan of a transition table returns
-- the rows in the order the statement changed them). Ids per user are gap-free and in
-- commit order: the counter row stays locked until the transaction ends, so n+1 is taken
-- only after the transaction holding n committed or rolled back (a rollback gives n back).
--
-- Why the functions are generated rather than one function reading TG_ARGV: a statement
-- built at run time (EXECUTE) is planned on every call, which made a one-row statement
-- cost about 2 ms more than the row trigger it replaces (docs/performance.md,
-- "Live-update trigger"); the generated functions are static SQL, planned once per
-- session. Every name is ours (from a migration, never input) and qualified by the
-- table's schema, so search_path chooses nothing. Changing what the triggers do takes a
-- new shared file replacing this function and, in a new file of each streaming service,
-- dropping its two triggers and functions and calling it again: the generated functions
-- are copies, made when a service's migration called this.
CREATE FUNCTION create_live_update_triggers(streamed regclass, stream text, update_type text, key_column text)
    RETURNS void LANGUAGE plpgsql AS $function$
DECLARE
    schema_name text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                          WHERE c.oid = streamed);
    data_of     text := format('%I.%I', schema_name, stream || '_update_data');
    -- The rows to record, each with its place in the statement.
    inserted    text := format('SELECT n.user_id, %s(n) AS data, row_number() OVER () AS nth FROM new_rows n',
                               data_of);
    updated     text := format('SELECT n.user_id, %1$s(n) AS data, s.nth'
                               ' FROM (SELECT %2$I AS key, row_number() OVER () AS nth FROM new_rows) s'
                               ' JOIN new_rows n ON n.%2$I = s.key JOIN old_rows o ON o.%2$I = s.key'
                               ' WHERE n.status IS DISTINCT FROM o.status',
                               data_of, key_column);
    -- A trigger function's body recording the rows `changed` selects (%1$s, filled below).
    record_body text := format($body$
BEGIN
    WITH changed AS (%%1$s),
    touched AS (SELECT user_id, count(*) AS k FROM changed GROUP BY user_id),
    counters AS (
        INSERT INTO %1$I.%2$I AS c (user_id, last_id)
        SELECT user_id, k FROM touched ORDER BY user_id
        ON CONFLICT (user_id) DO UPDATE SET last_id = c.last_id + excluded.last_id
        RETURNING c.user_id, c.last_id)
    INSERT INTO %1$I.%3$I (user_id, id, type, data)
    SELECT ch.user_id, c.last_id - t.k + row_number() OVER (PARTITION BY ch.user_id ORDER BY ch.nth), %4$L, ch.data
    FROM changed ch JOIN touched t USING (user_id) JOIN counters c USING (user_id);
    RETURN NULL;
END
$body$, schema_name, stream || '_update_counters', stream || '_updates', update_type);
BEGIN
    EXECUTE format('CREATE FUNCTION %I.%I() RETURNS trigger LANGUAGE plpgsql AS %L',
                   schema_name, 'record_' || stream || '_inserts', format(record_body, inserted));
    EXECUTE format('CREATE FUNCTION %I.%I() RETURNS trigger LANGUAGE plpgsql AS %L',
                   schema_name, 'record_' || stream || '_updates', format(record_body, updated));
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION %I.%I()',
                   'record_' || stream || '_inserts', streamed, schema_name, 'record_' || stream || '_inserts');
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION %I.%I()',
                   'record_' || stream || '_updates', streamed, schema_name, 'record_' || stream || '_updates');
END;
$function$;
