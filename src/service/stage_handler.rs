//! The one body every LLM-capable stage service shares: answer (rules directly, or an LLM inside
//! `ctx.run` so the answer is journaled and never paid twice), store the result idempotently,
//! return it with its provenance.

use super::app::App;
use crate::llm::config::OnLlmFailure;
use crate::llm::{Choice, Executor, Scope, StageOutcome, Verdict};
use crate::pipeline::stage::LlmStage;
use restate_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Request to a stage service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StageRequest<I> {
    /// The run.
    pub run_id: String,
    /// The indicator.
    pub indicator_id: String,
    /// The stage input (compact; journaled).
    pub input: I,
}

/// Reply of a stage service: the answer with who produced it.
pub(crate) type StageReply<O> = crate::pipeline::provenance::Answered<O>;

/// Retries of one LLM answer inside `ctx.run` before the stage gives up on the LLM (the executor
/// already retries transport errors and invalid answers within one attempt).
pub(crate) fn llm_retry_policy() -> RunRetryPolicy {
    RunRetryPolicy::new()
        .initial_delay(Duration::from_millis(500))
        .exponentiation_factor(2.0)
        .max_delay(Duration::from_secs(10))
        .max_attempts(4)
}

/// Answers stage `S` for `req` and stores the result.
pub(crate) async fn run_stage<S: LlmStage>(
    ctx: &Context<'_>,
    app: &App,
    req: StageRequest<S::Input>,
) -> HandlerResult<StageReply<S::Output>> {
    let verdict = match app.executor.choice(S::NAME) {
        Choice::Rules => Verdict::Rules(Executor::rules::<S>(&req.input)),
        // Under `--llm-when uncertain` the confident rules answer: deterministic, nothing to
        // journal.
        Choice::Llm { .. } => app.executor.cascade::<S>(&req.input),
    };
    let outcome: StageOutcome<S::Output> = match verdict {
        Verdict::Rules(rules) => rules,
        Verdict::Ask(why) => {
            let executor = app.executor.clone();
            let input = req.input.clone();
            let (run_id, item) = (req.run_id.clone(), req.indicator_id.clone());
            let answered = ctx
                .run(|| async move {
                    let scope = Scope {
                        run_id: Some(&run_id),
                        item: Some(&item),
                    };
                    Ok(Json(executor.ask::<S>(&input, scope, why).await?))
                })
                .name(S::NAME.as_str())
                .retry_policy(llm_retry_policy())
                .await;
            let (outcome, gave_up) = match answered {
                Ok(a) => (a.into_inner(), None),
                // The LLM could not answer within its retries: the rules engine stands in and the
                // stored provenance says so (unless the policy is to fail).
                Err(e) => {
                    tracing::warn!(stage = %S::NAME, indicator = %req.indicator_id, error = %e, "LLM gave up");
                    (app.executor.stood_in::<S>(&req.input), Some(e.to_string()))
                }
            };
            if outcome.provenance.fallback && app.executor.on_failure() == OnLlmFailure::Fail {
                let why = gave_up.unwrap_or_else(|| "only invalid answers".into());
                return Err(TerminalError::new_with_code(
                    422,
                    format!("{}: the LLM gave no valid answer ({why})", S::NAME),
                )
                .into());
            }
            outcome
        }
    };
    app.writer
        .stage(
            S::NAME,
            &req.run_id,
            &req.indicator_id,
            &outcome.output,
            &outcome.provenance,
        )
        .await?;
    Ok(StageReply {
        output: outcome.output,
        provenance: outcome.provenance,
    })
}
