-- 0003: LLM answers cache and per-call accounting.
--
-- Released migrations never change: put changes in a new, higher-numbered file.

-- Content-addressed answers: `key` is the SHA-256 (hex) of provider, model, stage, system prompt,
-- user message and answer schema, so a hit is an answer to exactly the same question. Only
-- answers that passed validation against the taxonomy are stored.
CREATE TABLE IF NOT EXISTS llm_cache (
    key         text PRIMARY KEY CHECK (length(key) = 64),
    provider    text NOT NULL,
    model       text NOT NULL,
    stage       text NOT NULL,
    answer      jsonb NOT NULL,
    tokens_in   integer NOT NULL DEFAULT 0,
    tokens_out  integer NOT NULL DEFAULT 0,
    attempts    integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per LLM call, upstream or answered from the cache. Written in batches off the hot path.
-- No primary key: rows are facts in time (and a hypertable's unique keys must contain `at`).
CREATE TABLE IF NOT EXISTS llm_calls (
    at             timestamptz NOT NULL,
    run_id         text,
    stage          text NOT NULL,
    provider       text NOT NULL,
    model          text NOT NULL,
    status         text NOT NULL
                   CHECK (status IN ('ok', 'cached', 'invalid', '429', 'error', 'timeout')),
    latency_ms     integer NOT NULL DEFAULT 0,
    tokens_in      integer NOT NULL DEFAULT 0,
    tokens_out     integer NOT NULL DEFAULT 0,
    tokens_cached  integer NOT NULL DEFAULT 0,
    attempt        integer NOT NULL DEFAULT 1,
    cache_key      text,
    error          text
);

CREATE INDEX IF NOT EXISTS llm_calls_run_at ON llm_calls (run_id, at);

-- A TimescaleDB hypertable when the extension is there (the docker runtime's image); a plain
-- table otherwise. Any failure here leaves the plain table, which works the same.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       AND current_setting('shared_preload_libraries', true) LIKE '%timescaledb%' THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'timescaledb not enabled (%): llm_calls stays a plain table', SQLERRM;
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        BEGIN
            PERFORM create_hypertable('llm_calls', 'at', if_not_exists => TRUE, migrate_data => TRUE);
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'llm_calls not converted to a hypertable (%)', SQLERRM;
        END;
    END IF;
END
$$;
