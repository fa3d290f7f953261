//! The `classification` workflow: one indicator through the six stages, in order, each a call to
//! its stage service (which stores its own result), then the final record. Key
//! `<indicator_id>@<run_id>`. A stage that fails for good (e.g. the indicator is not in the
//! database) ends the workflow with a stored `failed` row and its reason, never silently.

use super::app::App;
use super::stage_handler::{StageReply, StageRequest};
use super::stages::{
    BooleanReviewServiceClient, FamilyAssignmentServiceClient, FinalReviewServiceClient,
    NormalizationServiceClient, NormalizeReply, NormalizeRequest, TimeInferenceServiceClient,
    TypeClassificationServiceClient,
};
use crate::db::results::{self, ClassificationRow, Provenance};
use crate::pipeline::{
    Classification, FamilyInput, FinalInput, ReviewInput, StageName, TimeInput, TypeInput,
    apply_final, assemble, needs_final_review,
};
use crate::submit::run::WorkflowRequest;
use restate_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the workflow returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowResult {
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
pub struct WorkflowStatus {
    /// Stages with a stored result, in pipeline order.
    pub stages_done: Vec<String>,
    /// The stage being worked on (first without a result), or `done`.
    pub current: String,
    /// `classified`/`failed` once the final record is stored.
    pub outcome: Option<String>,
}

/// The `classification` workflow.
pub struct ClassificationWorkflow {
    /// Shared state.
    pub app: Option<App>,
}

fn app(app: &Option<App>) -> Result<&App, HandlerError> {
    app.as_ref()
        .ok_or_else(|| HandlerError::from("this handler server has no database configured"))
}

/// The stored row for a finished classification.
pub fn classified_row(
    req: &WorkflowRequest,
    key: &str,
    c: &Classification,
    providers: serde_json::Value,
) -> ClassificationRow {
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
        if key != crate::submit::run::workflow_key(&req.indicator_id, &req.run_id) {
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

/// Records who answered a stage.
fn note(providers: &mut BTreeMap<String, Provenance>, stage: StageName, p: &Provenance) {
    providers.insert(stage.as_str().to_string(), p.clone());
}

/// The six stages in order.
async fn classify(
    ctx: &WorkflowContext<'_>,
    req: &WorkflowRequest,
) -> Result<(Classification, serde_json::Value), Failure> {
    let mut providers = BTreeMap::new();
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
    note(&mut providers, StageName::Normalization, &provenance);
    let time: StageReply<_> = ctx
        .service_client::<TimeInferenceServiceClient>()
        .run(Json(StageRequest {
            run_id: req.run_id.clone(),
            indicator_id: req.indicator_id.clone(),
            input: TimeInput::new(&facts, &norm),
        }))
        .call()
        .await?
        .into_inner();
    note(&mut providers, StageName::TimeInference, &time.provenance);

    let family: StageReply<_> = ctx
        .service_client::<FamilyAssignmentServiceClient>()
        .run(Json(StageRequest {
            run_id: req.run_id.clone(),
            indicator_id: req.indicator_id.clone(),
            input: FamilyInput::new(&facts, &norm, &time.output),
        }))
        .call()
        .await?
        .into_inner();
    note(
        &mut providers,
        StageName::FamilyAssignment,
        &family.provenance,
    );

    let typ: StageReply<_> = ctx
        .service_client::<TypeClassificationServiceClient>()
        .run(Json(StageRequest {
            run_id: req.run_id.clone(),
            indicator_id: req.indicator_id.clone(),
            input: TypeInput::new(&facts, &norm, &time.output, &family.output),
        }))
        .call()
        .await?
        .into_inner();
    note(
        &mut providers,
        StageName::TypeClassification,
        &typ.provenance,
    );

    let draft = assemble(&norm, &time.output, &family.output, &typ.output);
    let review: StageReply<_> = ctx
        .service_client::<BooleanReviewServiceClient>()
        .run(Json(StageRequest {
            run_id: req.run_id.clone(),
            indicator_id: req.indicator_id.clone(),
            input: ReviewInput::new(&facts, &norm, &draft),
        }))
        .call()
        .await?
        .into_inner();
    note(&mut providers, StageName::BooleanReview, &review.provenance);
    let draft = draft.with_review(&review.output);
    let classification = if needs_final_review(&review.output) {
        let fin: StageReply<_> = ctx
            .service_client::<FinalReviewServiceClient>()
            .run(Json(StageRequest {
                run_id: req.run_id.clone(),
                indicator_id: req.indicator_id.clone(),
                input: FinalInput::new(&facts, &norm, &draft, &review.output),
            }))
            .call()
            .await?
            .into_inner();
        note(&mut providers, StageName::FinalReview, &fin.provenance);
        apply_final(draft, &fin.output)
    } else {
        draft
    };
    let providers =
        serde_json::to_value(&providers).map_err(|e| Failure::Retry(HandlerError::from(e)))?;
    Ok((classification, providers))
}
