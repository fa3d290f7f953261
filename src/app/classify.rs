//! A classification job on an open [`Session`]: the admission window (kept on the LLM budget by
//! the feedback loop when an LLM answers), submission round-robin over the session's nodes,
//! progress from stored results, and the run's summary.

use super::{AppError, Session};
use crate::db::runs::Selection;
use crate::llm::ProviderKind;
use crate::llm::feedback::spawn_admission_feedback;
use crate::submit::admission::Admission;
use crate::submit::nodes::NodePool;
use crate::submit::progress::ProgressMode;
use crate::submit::run::{RunDeps, RunOptions, RunSummary, classify};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Throughput profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Profile {
    /// Most workflows in flight.
    pub window: usize,
    /// Concurrent submission requests.
    pub concurrency: usize,
}

/// Default profile: a window the cluster serves without long queues.
pub(crate) const DEFAULT_PROFILE: Profile = Profile {
    window: 300,
    concurrency: 16,
};
/// `--fast`: the largest window the budget allows (rules: what the cluster sustains without
/// queueing past its invoker limits), more submission concurrency.
pub(crate) const FAST_PROFILE: Profile = Profile {
    window: 800,
    concurrency: 48,
};

/// Most workflows in flight with `--fast` and an LLM provider: the budget feedback decides
/// below this.
pub(crate) const FAST_LLM_WINDOW_CAP: usize = 3000;

/// What to classify and how fast.
#[derive(Debug, Clone)]
pub(crate) struct ClassifyOptions {
    /// Which indicators.
    pub selection: Selection,
    /// The `--fast` profile.
    pub fast: bool,
    /// An explicit in-flight window (a hard cap).
    pub window: Option<usize>,
    /// The provider the run is recorded with.
    pub provider: Option<ProviderKind>,
    /// How progress is shown.
    pub progress: ProgressMode,
}

impl ClassifyOptions {
    /// The throughput profile these options select.
    pub(crate) fn profile(&self) -> Profile {
        let mut p = if self.fast {
            FAST_PROFILE
        } else {
            DEFAULT_PROFILE
        };
        if let Some(w) = self.window {
            p.window = w.max(1);
        }
        p
    }
}

impl Session {
    /// Classifies what `opts` selects (resuming an interrupted run) until every indicator has
    /// a stored outcome or `cancel` fires.
    pub(crate) async fn classify(
        &self,
        opts: &ClassifyOptions,
        cancel: CancellationToken,
    ) -> Result<RunSummary, AppError> {
        let profile = opts.profile();
        let admission = Arc::new(Admission::new(profile.window));
        // With an LLM, the budget limits throughput: the window follows what it can serve
        // (Little's law, corrected until the budget is busy). `--fast` lets it grow as far as
        // the budget needs; otherwise it stays under the profile's window. An explicit
        // --window is a hard cap.
        let cap = match (opts.window, opts.fast) {
            (Some(w), _) => w.max(1),
            (None, true) => FAST_LLM_WINDOW_CAP,
            (None, false) => profile.window,
        };
        let executor = &self.executor;
        let feedback = executor.uses_llm().then(|| {
            spawn_admission_feedback(
                executor.clone(),
                admission.clone(),
                (1, cap),
                Duration::from_secs(1),
                cancel.child_token(),
            )
        });
        let deps = RunDeps {
            db: self.pool.clone(),
            nodes: Arc::new(NodePool::new(self.ingresses())),
            extra: executor.uses_llm().then(|| executor.budget_lines()),
            admission,
        };
        let llm = &self.llm;
        let run = RunOptions {
            selection: opts.selection.clone(),
            concurrency: profile.concurrency,
            recorded: serde_json::json!({
                "provider": opts.provider.unwrap_or(ProviderKind::Rules),
                "stages": executor.describe(),
                "llm": {
                    "rpm": llm.limiter.rpm,
                    "tpm": llm.limiter.tpm,
                    "concurrency": llm.limiter.concurrency,
                    "cache": llm.cache,
                },
                "window": profile.window,
                "concurrency": profile.concurrency,
                "fast": opts.fast,
            }),
            progress: opts.progress,
        };
        let summary = classify(&deps, &run, cancel).await;
        if let Some(f) = feedback {
            f.abort();
        }
        Ok(summary?)
    }
}
