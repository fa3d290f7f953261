-- 0001: the source indicator series to classify, one row per series.
--
-- Applied once by `restate-classify db init` (and before every import/seed); tracked in
-- schema_migrations with a checksum, so this file must never change once released: put changes
-- in a new, higher-numbered file.

CREATE TABLE source_indicators (
    -- Stable series id, e.g. `NY.GDP.MKTP.CD_USA` or `gdp_usa`.
    id                 text PRIMARY KEY CHECK (id <> ''),
    -- Display name, e.g. "GDP Annual Growth Rate". Many series share a name across countries.
    name               text NOT NULL CHECK (btrim(name) <> ''),
    -- Source metadata, kept as the source wrote it (NULL when absent).
    units              text,
    periodicity        text,
    scale              text,
    currency_code      text,
    description        text,
    source             text,
    category_group     text,
    topic              text,
    dataset            text,
    aggregation_method text,
    -- Recent observations: a JSON array of {"date": text, "value": number}, in source order.
    sample_values      jsonb NOT NULL DEFAULT '[]'::jsonb
                       CHECK (jsonb_typeof(sample_values) = 'array'),
    -- SHA-256 (hex) of the canonical JSON of the record: re-imports of identical content are
    -- detected and left untouched, and downstream caches can key on it.
    content_hash       text NOT NULL,
    -- When the row was first stored, and when its content last changed.
    imported_at        timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- The same indicator name recurs across ~180 countries; stages and caches group by it.
CREATE INDEX source_indicators_name_idx ON source_indicators (name);
