-- 0005: an LLM call is recorded before it is sent.
--
-- Released migrations never change: put changes in a new, higher-numbered file.
--
-- Every upstream attempt first writes a row with status 'sent' and its own `call_id` (also sent
-- to the provider as X-Client-Request-Id); the outcome updates that row. A call whose process
-- died before the answer arrived stays 'sent': paid, recorded, never answered to us.
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS call_id text;
ALTER TABLE llm_calls DROP CONSTRAINT IF EXISTS llm_calls_status_check;
ALTER TABLE llm_calls ADD CONSTRAINT llm_calls_status_check
    CHECK (status IN ('sent', 'ok', 'cached', 'invalid', '429', 'error', 'timeout'));
CREATE INDEX IF NOT EXISTS llm_calls_call_id ON llm_calls (call_id) WHERE call_id IS NOT NULL;
