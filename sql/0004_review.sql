-- Confidence that means something, stored with each classification: the per-field confidence
-- (family, indicator_type, temporal_aggregation, heat_map_orientation, is_currency_denominated,
-- …) and whether a person should look at the row (`needs_review`: a labelled field below the
-- review threshold, or the review stages disagreed), with the reasons. `restate-classify review`
-- lists these rows.

ALTER TABLE classifications ADD COLUMN IF NOT EXISTS field_confidence jsonb;
ALTER TABLE classifications ADD COLUMN IF NOT EXISTS needs_review boolean NOT NULL DEFAULT false;
ALTER TABLE classifications ADD COLUMN IF NOT EXISTS review_reasons text[] NOT NULL DEFAULT '{}';

CREATE INDEX IF NOT EXISTS classifications_needs_review
    ON classifications (run_id, indicator_id) WHERE needs_review;
