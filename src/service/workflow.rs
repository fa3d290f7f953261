//! The `classification` workflow: one indicator through the six stages, in order, each a call to
//! its stage service (which stores its own result), then the final record. Key
//! `<indicator_id>@<run_id>`. A stage that fails for good (e.g. the indicator is not in the
//! database) ends the workflow with a stored `failed` row and its reason, never silently.

use super::app::App;
use super::stage_handler::{StageReply, StageRequest};
use super::stages::{NormalizationServiceClient, NormalizeReply, NormalizeRequest};
use crate::db::results::{self, ClassificationRow};
use crate::pipeline::driver::{Answerer, drive};
use crate::pipeline::provenance::{Answered, Provenance};
use crate::pipeline::{Classification, LlmStage, StageName};
use restate_sdk::context::RequestTarget;
use restate_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The workflow every indicator runs through.
pub(crate) const WORKFLOW: &str = "classification";

/// Workflow key of an indicator in a run: a rerun of the same run dedupes, a new run reclassifies.
pub fn workflow_key(indicator_id: &str, run_id: &str) -> String {
    format!("{indicator_id}@{run_id}")
}

/// Body of a `classification` workflow submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WorkflowRequest {
    /// The indicator to classify.
    pub indicator_id: String,
    /// The run it belongs to.
    pub run_id: String,
}

/// What the workflow returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WorkflowResult {
    /// `classified` or `failed`.
    pub status: String,
    /// Family, when classified.
    pub family: Option<String>,
    /// Type, when classified.
    pub indicator_type: Option<String>,
    /// Failure reason.
    pub error: Option<String>,
}

/// Where a workflow is, derived from the stage rows it has stored (no journal cost).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WorkflowStatus {
    /// Stages with a stored result, in pipeline order.
    pub stages_done: Vec<String>,
    /// The stage being worked on (first without a result), or `done`.
    pub current: String,
    /// `classified`/`failed` once the final record is stored.
    pub outcome: Option<String>,
}

/// The `classification` workflow.
pub(crate) struct ClassificationWorkflow {
    /// Shared state.
    pub app: Option<App>,
}

fn app(app: &Option<App>) -> Result<&App, HandlerError> {
    app.as_ref()
        .ok_or_else(|| HandlerError::from("this handler server has no database configured"))
}

/// The stored row for a finished classification. It needs review when a labelled field's
/// confidence is below the conventions' review threshold or the review stages disagreed (the
/// boolean review flagged something, the final review changed something).
pub fn classified_row(
    req: &WorkflowRequest,
    key: &str,
    c: &Classification,
    providers: serde_json::Value,
) -> ClassificationRow {
    let review_reasons =
        c.review_reasons(crate::pipeline::conventions::effective().review_threshold);
    ClassificationRow {
        run_id: req.run_id.clone(),
        indicator_id: req.indicator_id.clone(),
        workflow_key: key.to_string(),
        status: "classified".into(),
        family: Some(c.family.to_string()),
        indicator_type: Some(c.indicator_type.to_string()),
        temporal_aggregation: Some(c.temporal_aggregation.to_string()),
        heat_map_orientation: Some(c.heat_map_orientation.to_string()),
        is_currency_denominated: Some(c.is_currency_denominated),
        reporting_frequency: Some(c.reporting_frequency.to_string()),
        time_basis: Some(c.time_basis.to_string()),
        is_cumulative: Some(c.is_cumulative),
        unit_type: Some(c.unit_type.to_string()),
        scale: Some(c.scale.to_string()),
        currency: c.currency.as_ref().map(|c| c.to_string()),
        confidence: Some(c.confidence.overall),
        field_confidence: serde_json::to_value(&c.confidence).ok(),
        needs_review: !review_reasons.is_empty(),
        review_reasons,
        record: serde_json::to_value(c).ok(),
        providers,
        error: None,
    }
}

#[restate_sdk::workflow(
    name = "classification",
    workflow_completion_retention = "1d",
    invocation_retry_policy(
        initial_interval = "200ms",
        max_interval = "5s",
        factor = 2.0,
        max_attempts = 100000,
        on_max_attempts = "pause"
    )
)]
impl ClassificationWorkflow {
    /// Classifies one indicator of one run.
    #[handler(name = "run")]
    async fn run(
        &self,
        ctx: WorkflowContext<'_>,
        req: Json<WorkflowRequest>,
    ) -> HandlerResult<Json<WorkflowResult>> {
        let req = req.into_inner();
        let key = ctx.key().to_string();
        if key != workflow_key(&req.indicator_id, &req.run_id) {
            return Err(TerminalError::new_with_code(
                400,
                format!(
                    "workflow key {key:?} does not match indicator {:?} of run {:?}",
                    req.indicator_id, req.run_id
                ),
            )
            .into());
        }
        let outcome = classify(&ctx, &req).await;
        let app = app(&self.app)?;
        // Written outside ctx.run on purpose: an idempotent upsert, re-executed harmlessly if the
        // workflow replays; a database error fails the attempt and Restate retries it.
        match outcome {
            Ok((c, providers)) => {
                app.writer
                    .classification(classified_row(&req, &key, &c, providers))
                    .await?;
                Ok(Json(WorkflowResult {
                    status: "classified".into(),
                    family: Some(c.family.to_string()),
                    indicator_type: Some(c.indicator_type.to_string()),
                    error: None,
                }))
            }
            Err(Failure::Terminal(reason)) => {
                app.writer
                    .classification(ClassificationRow {
                        run_id: req.run_id.clone(),
                        indicator_id: req.indicator_id.clone(),
                        workflow_key: key,
                        status: "failed".into(),
                        providers: serde_json::json!({}),
                        error: Some(reason.clone()),
                        ..Default::default()
                    })
                    .await?;
                Ok(Json(WorkflowResult {
                    status: "failed".into(),
                    family: None,
                    indicator_type: None,
                    error: Some(reason),
                }))
            }
            Err(Failure::Retry(e)) => Err(e),
        }
    }

    /// Which stage the workflow is at, from the results it has stored.
    #[handler(name = "status")]
    async fn status(&self, ctx: SharedWorkflowContext<'_>) -> HandlerResult<Json<WorkflowStatus>> {
        let app = app(&self.app)?;
        let key = ctx.key();
        let Some((indicator_id, run_id)) = key.rsplit_once('@') else {
            return Err(
                TerminalError::new_with_code(400, format!("bad workflow key {key:?}")).into(),
            );
        };
        let done = results::stages_done(&app.db, run_id, indicator_id).await?;
        let current = StageName::ALL
            .iter()
            .find(|s| !done.contains(s) && **s != StageName::FinalReview)
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "done".into());
        let outcome = results::outcome(&app.db, run_id, indicator_id).await?;
        let current = if outcome.is_some() {
            "done".to_string()
        } else {
            current
        };
        Ok(Json(WorkflowStatus {
            stages_done: done.iter().map(|s| s.as_str().to_string()).collect(),
            current,
            outcome,
        }))
    }
}

/// Why the pipeline did not produce a classification.
enum Failure {
    /// For good: stored as `failed` with this reason.
    Terminal(String),
    /// Retry the attempt (Restate does).
    Retry(HandlerError),
}

impl From<TerminalError> for Failure {
    fn from(e: TerminalError) -> Self {
        Failure::Terminal(e.to_string())
    }
}

/// The driver's answerer in the workflow: each stage is a call to its stage service (which
/// answers, with an LLM inside `ctx.run` or the rules, and stores its result).
struct StageCalls<'a, 'ctx> {
    ctx: &'a WorkflowContext<'ctx>,
    req: &'a WorkflowRequest,
}

impl Answerer for StageCalls<'_, '_> {
    type Error = TerminalError;

    async fn answer<S: LlmStage>(
        &mut self,
        input: S::Input,
    ) -> Result<Answered<S::Output>, TerminalError> {
        let reply: Json<StageReply<S::Output>> = self
            .ctx
            .request(
                RequestTarget::service(S::NAME.as_str(), "run"),
                Json(StageRequest {
                    run_id: self.req.run_id.clone(),
                    indicator_id: self.req.indicator_id.clone(),
                    input,
                }),
            )
            .call()
            .await?;
        Ok(reply.into_inner())
    }
}

/// The six stages in order: normalization (which loads the indicator), then the driver.
async fn classify(
    ctx: &WorkflowContext<'_>,
    req: &WorkflowRequest,
) -> Result<(Classification, serde_json::Value), Failure> {
    let NormalizeReply {
        facts,
        output: norm,
        provenance,
    } = ctx
        .service_client::<NormalizationServiceClient>()
        .run(Json(NormalizeRequest {
            run_id: req.run_id.clone(),
            indicator_id: req.indicator_id.clone(),
        }))
        .call()
        .await?
        .into_inner();
    let driven = drive(&mut StageCalls { ctx, req }, &facts, &norm, provenance).await?;
    let providers: BTreeMap<&str, Provenance> = driven
        .provenance
        .into_iter()
        .map(|(stage, p)| (stage.as_str(), p))
        .collect();
    let providers =
        serde_json::to_value(&providers).map_err(|e| Failure::Retry(HandlerError::from(e)))?;
    Ok((driven.classification, providers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_combine_indicator_and_run() {
        assert_eq!(
            workflow_key("NY.GDP.MKTP.CD_USA", "r1"),
            "NY.GDP.MKTP.CD_USA@r1"
        );
    }
}
