-- Classification runs, one result table per stage, and the final record per indicator and run.
-- Every write is an upsert keyed by (run_id, indicator_id), so a retried stage or workflow
-- rewrites the same row instead of adding one.

CREATE TABLE IF NOT EXISTS classification_runs (
    id            text PRIMARY KEY,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    status        text NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'completed', 'interrupted')),
    force         boolean NOT NULL DEFAULT false,
    options       jsonb NOT NULL DEFAULT '{}'::jsonb,
    total         integer NOT NULL DEFAULT 0,
    classified    integer NOT NULL DEFAULT 0,
    failed        integer NOT NULL DEFAULT 0
);

CREATE INDEX IF NOT EXISTS classification_runs_started ON classification_runs (started_at DESC);

-- The indicators a run covers (its work list), so a resumed run submits exactly what is left.
CREATE TABLE IF NOT EXISTS run_items (
    run_id        text NOT NULL REFERENCES classification_runs (id) ON DELETE CASCADE,
    indicator_id  text NOT NULL,
    PRIMARY KEY (run_id, indicator_id)
);

-- One table per stage: what the stage decided, who decided it, and whether the rules engine had
-- to stand in for an invalid LLM answer.
CREATE TABLE IF NOT EXISTS stage_normalization (
    run_id        text NOT NULL,
    indicator_id  text NOT NULL,
    result        jsonb NOT NULL,
    provider      text NOT NULL,
    model         text NOT NULL,
    fallback      boolean NOT NULL DEFAULT false,
    attempts      integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, indicator_id)
);
CREATE TABLE IF NOT EXISTS stage_time_inference (LIKE stage_normalization INCLUDING ALL);
CREATE TABLE IF NOT EXISTS stage_family_assignment (LIKE stage_normalization INCLUDING ALL);
CREATE TABLE IF NOT EXISTS stage_type_classification (LIKE stage_normalization INCLUDING ALL);
CREATE TABLE IF NOT EXISTS stage_boolean_review (LIKE stage_normalization INCLUDING ALL);
CREATE TABLE IF NOT EXISTS stage_final_review (LIKE stage_normalization INCLUDING ALL);

-- The final record per indicator and run. `status = 'failed'` rows carry the reason; they are
-- never silently dropped and `classify --retry-failed` picks them up.
CREATE TABLE IF NOT EXISTS classifications (
    run_id                   text NOT NULL,
    indicator_id             text NOT NULL,
    status                   text NOT NULL CHECK (status IN ('classified', 'failed')),
    family                   text,
    indicator_type           text,
    temporal_aggregation     text,
    heat_map_orientation     text,
    is_currency_denominated  boolean,
    reporting_frequency      text,
    time_basis               text,
    is_cumulative            boolean,
    unit_type                text,
    scale                    text,
    currency                 text,
    confidence               double precision,
    record                   jsonb,
    providers                jsonb NOT NULL DEFAULT '{}'::jsonb,
    error                    text,
    workflow_key             text NOT NULL,
    created_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, indicator_id)
);

CREATE INDEX IF NOT EXISTS classifications_indicator ON classifications (indicator_id, created_at DESC);
CREATE INDEX IF NOT EXISTS classifications_run_status ON classifications (run_id, status);
