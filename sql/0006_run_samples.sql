-- 0006: what the submitter saw while a run was going, one row per progress interval, for the
-- run report (`restate-classify report`): stored outcomes, submissions, the admission window
-- and what was in flight, and the submissions per node so far.
--
-- Released migrations never change: put changes in a new, higher-numbered file.
CREATE TABLE IF NOT EXISTS run_samples (
    run_id     text NOT NULL REFERENCES classification_runs (id) ON DELETE CASCADE,
    at         timestamptz NOT NULL DEFAULT now(),
    submitted  bigint NOT NULL DEFAULT 0,
    classified bigint NOT NULL DEFAULT 0,
    failed     bigint NOT NULL DEFAULT 0,
    in_flight  bigint NOT NULL DEFAULT 0,
    "window"   bigint NOT NULL DEFAULT 0,
    -- {"n1": 1234, "n2": …}: submissions per node since the submitter started.
    per_node   jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (run_id, at)
);
