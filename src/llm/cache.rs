//! Identical prompts are answered once.
//!
//! The key is a SHA-256 over provider, model, stage, system prompt, user message and answer
//! schema, so a hit can only ever return an answer to the very same question. Within the
//! process, concurrent identical requests share one upstream call (single-flight: the first
//! caller fetches, the others wait for its result); across runs, valid answers are kept in the
//! `llm_cache` table. Invalid answers and failures are shared with the callers already waiting
//! but never stored.

use crate::db::llm as store;
use crate::pipeline::stage::{Prompt, StageName};
use deadpool_postgres::Pool;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// Content address of a question.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct CacheKey(pub String);

impl std::fmt::Display for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key of `prompt` asked of `model` at `provider`.
pub(crate) fn key(provider: &str, model: &str, prompt: &Prompt) -> CacheKey {
    let mut h = Sha256::new();
    // Length-prefixed fields: no two different field lists hash the same bytes.
    let schema = prompt.schema.to_string();
    for field in [
        provider,
        model,
        prompt.stage.as_str(),
        &prompt.system,
        &prompt.user,
        &schema,
    ] {
        h.update((field.len() as u64).to_le_bytes());
        h.update(field.as_bytes());
    }
    CacheKey(hex::encode(h.finalize()))
}

pub(crate) use crate::db::llm::CachedAnswer;

/// Why a flight produced no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// Only invalid answers within the allowed attempts (the rules engine stands in).
    Invalid,
    /// Transport errors, timeouts or 429s until the retries ran out.
    GaveUp,
    /// The provider rejected the request (bad key, unknown model…).
    Rejected,
}

/// A failed flight, shared with its waiters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    /// What kind.
    pub kind: FailureKind,
    /// Upstream attempts made.
    pub attempts: u32,
    /// Last reason (redacted).
    pub reason: String,
}

/// The result of a flight.
pub(crate) type Flight = Result<CachedAnswer, Failure>;

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Source {
    /// This caller fetched it from the provider.
    Upstream,
    /// Another caller in this process fetched it (in flight or earlier).
    Memory,
    /// The `llm_cache` table (an earlier run).
    Table,
}

/// Finished entries kept in memory before they are dropped (the table still has them).
const MAX_MEMORY_ENTRIES: usize = 200_000;

/// Single-flight plus the cache table.
#[derive(Debug)]
pub(crate) struct Cache {
    flights: Mutex<HashMap<CacheKey, Arc<OnceCell<Flight>>>>,
    pool: Option<Pool>,
}

impl Cache {
    /// A cache backed by `pool`'s `llm_cache` table (memory only without a pool).
    pub(crate) fn new(pool: Option<Pool>) -> Self {
        Self {
            flights: Mutex::new(HashMap::new()),
            pool,
        }
    }

    fn flights(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Arc<OnceCell<Flight>>>> {
        // Poisoning only means a panic elsewhere while holding the map; its content is valid.
        self.flights.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The answer to `key`: from memory, from the table, or by running `fetch` (at most one
    /// `fetch` per key at a time in this process).
    pub(crate) async fn get_or_fetch<F, Fut>(
        &self,
        key: &CacheKey,
        stage: StageName,
        fetch: F,
    ) -> (Flight, Source)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Flight>,
    {
        let cell = {
            let mut map = self.flights();
            if map.len() >= MAX_MEMORY_ENTRIES {
                map.retain(|_, c| !c.initialized());
            }
            map.entry(key.clone()).or_default().clone()
        };
        let mut source = Source::Memory;
        let flight = cell
            .get_or_init(|| async {
                if let Some(hit) = self.lookup(key).await {
                    source = Source::Table;
                    return Ok(hit);
                }
                source = Source::Upstream;
                let fetched = fetch().await;
                if let Ok(answer) = &fetched {
                    self.store(key, stage, answer).await;
                }
                fetched
            })
            .await
            .clone();
        if flight.is_err() && source == Source::Upstream {
            // Failures are for the callers already waiting, not for later ones.
            let mut map = self.flights();
            if map.get(key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                map.remove(key);
            }
        }
        (flight, source)
    }

    /// Forgets an entry (e.g. a cached answer that no longer validates).
    pub(crate) async fn evict(&self, key: &CacheKey) {
        self.flights().remove(key);
        if let Some(pool) = &self.pool
            && let Err(e) = store::cache_delete(pool, &key.0).await
        {
            tracing::warn!(error = %e, "could not evict an llm_cache entry");
        }
    }

    async fn lookup(&self, key: &CacheKey) -> Option<CachedAnswer> {
        let pool = self.pool.as_ref()?;
        match store::cache_get(pool, &key.0).await {
            Ok(hit) => hit,
            Err(e) => {
                tracing::warn!(error = %e, "llm_cache lookup failed; asking the provider");
                None
            }
        }
    }

    async fn store(&self, key: &CacheKey, stage: StageName, answer: &CachedAnswer) {
        if let Some(pool) = &self.pool
            && let Err(e) = store::cache_put(pool, &key.0, stage, answer).await
        {
            tracing::warn!(error = %e, "could not store an answer in llm_cache");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::provider::Usage;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn prompt(user: &str) -> Prompt {
        Prompt {
            stage: StageName::FamilyAssignment,
            system: "s".into(),
            user: user.into(),
            schema: serde_json::json!({"type": "object"}),
        }
    }

    fn answer() -> CachedAnswer {
        CachedAnswer {
            answer: serde_json::json!({"family": "price-value"}),
            provider: "openai".into(),
            model: "m".into(),
            usage: Usage::default(),
            attempts: 1,
        }
    }

    #[test]
    fn keys_differ_in_every_field() {
        let base = key("openai", "m", &prompt("u"));
        assert_eq!(base, key("openai", "m", &prompt("u")));
        assert_ne!(base, key("anthropic", "m", &prompt("u")));
        assert_ne!(base, key("openai", "m2", &prompt("u")));
        assert_ne!(base, key("openai", "m", &prompt("u2")));
        let mut other_stage = prompt("u");
        other_stage.stage = StageName::TimeInference;
        assert_ne!(base, key("openai", "m", &other_stage));
    }

    #[tokio::test]
    async fn concurrent_identical_requests_fetch_once() {
        let cache = Arc::new(Cache::new(None));
        let calls = Arc::new(AtomicU32::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let k = key("openai", "m", &prompt("u"));
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (cache, calls, gate, k) = (cache.clone(), calls.clone(), gate.clone(), k.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch(&k, StageName::FamilyAssignment, || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        gate.notified().await;
                        Ok(answer())
                    })
                    .await
            }));
        }
        while calls.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        let mut sources = Vec::new();
        for t in tasks {
            let (flight, source) = t.await.unwrap();
            assert_eq!(flight.unwrap(), answer());
            sources.push(source);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            sources.iter().filter(|s| **s == Source::Upstream).count(),
            1
        );
    }

    #[tokio::test]
    async fn failures_are_not_kept() {
        let cache = Cache::new(None);
        let k = key("openai", "m", &prompt("u"));
        let fail = Failure {
            kind: FailureKind::Invalid,
            attempts: 3,
            reason: "bad".into(),
        };
        let (f, _) = cache
            .get_or_fetch(&k, StageName::FamilyAssignment, || async {
                Err(fail.clone())
            })
            .await;
        assert_eq!(f, Err(fail));
        let (f, s) = cache
            .get_or_fetch(&k, StageName::FamilyAssignment, || async { Ok(answer()) })
            .await;
        assert!(f.is_ok());
        assert_eq!(s, Source::Upstream);
        let (_, s) = cache
            .get_or_fetch(&k, StageName::FamilyAssignment, || async { unreachable!() })
            .await;
        assert_eq!(s, Source::Memory);
    }
}
