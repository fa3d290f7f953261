//! The six stage services. Normalization loads the indicator and turns it into compact facts;
//! the other five share [`run_stage`](super::stage_handler::run_stage).

use super::app::App;
use super::stage_handler::{StageReply, StageRequest, run_stage};
use crate::db::results::Provenance;
use crate::pipeline::facts::IndicatorFacts;
use crate::pipeline::normalization::{NormalizationInput, NormalizationOutput, NormalizationStage};
use crate::pipeline::stage::{Stage, StageName};
use restate_sdk::prelude::*;
use serde::{Deserialize, Serialize};

/// The handlers' state, or a retryable error when the server was built without a database.
fn app(app: &Option<App>) -> Result<&App, HandlerError> {
    app.as_ref()
        .ok_or_else(|| HandlerError::from("this handler server has no database configured"))
}

/// Request to the normalization service: which indicator, in which run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NormalizeRequest {
    /// The run.
    pub run_id: String,
    /// The indicator.
    pub indicator_id: String,
}

/// Reply of the normalization service: the compact facts every later stage is built from, and
/// the normalization result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NormalizeReply {
    /// Compact facts (no sample history).
    pub facts: IndicatorFacts,
    /// Units, scale, currency.
    pub output: NormalizationOutput,
    /// Always the rules engine.
    pub provenance: Provenance,
}

/// `normalization`: loads the record, derives facts, normalises units (rules only).
pub(crate) struct NormalizationService {
    /// Shared state.
    pub app: Option<App>,
}

#[restate_sdk::service(
    name = "normalization",
    ingress_private = true,
    invocation_retry_policy(
        initial_interval = "200ms",
        max_interval = "5s",
        factor = 2.0,
        max_attempts = 100000,
        on_max_attempts = "pause"
    )
)]
impl NormalizationService {
    /// Normalises one indicator of a run.
    #[handler(name = "run")]
    async fn run(
        &self,
        _ctx: Context<'_>,
        req: Json<NormalizeRequest>,
    ) -> HandlerResult<Json<NormalizeReply>> {
        let app = app(&self.app)?;
        let req = req.into_inner();
        let client = app.db.get().await?;
        let record = crate::db::sources::fetch(&client, std::slice::from_ref(&req.indicator_id))
            .await?
            .pop()
            .ok_or_else(|| {
                TerminalError::new_with_code(
                    404,
                    format!(
                        "indicator {:?} is not in source_indicators",
                        req.indicator_id
                    ),
                )
            })?;
        drop(client);
        let facts = IndicatorFacts::from_record(&record);
        let output = NormalizationStage::rules(&NormalizationInput::new(&facts));
        let provenance = Provenance::rules();
        app.writer
            .stage(
                StageName::Normalization,
                &req.run_id,
                &req.indicator_id,
                &output,
                &provenance,
            )
            .await?;
        Ok(Json(NormalizeReply {
            facts,
            output,
            provenance,
        }))
    }
}

// Retry policy of every classification handler: retry quickly (a restarted handler server is
// picked up within seconds) and practically forever (an outage of hours must not lose work);
// only after ~6 days of failures does Restate pause the invocation.

/// Declares one LLM-capable stage service as a thin wrapper over [`run_stage`].
macro_rules! stage_service {
    ($svc:ident, $name:tt, $stage:ty) => {
        #[doc = concat!("`", $name, "` stage service.")]
        pub struct $svc {
            /// Shared state.
            pub app: Option<App>,
        }

        #[restate_sdk::service(
            name = $name,
            ingress_private = true,
            inactivity_timeout = "5m",
            abort_timeout = "15m",
            invocation_retry_policy(initial_interval = "200ms", max_interval = "5s", factor = 2.0, max_attempts = 100000, on_max_attempts = "pause")
        )]
        impl $svc {
            /// Answers the stage for one indicator and stores the result.
            #[handler(name = "run")]
            async fn run(
                &self,
                ctx: Context<'_>,
                req: Json<StageRequest<<$stage as Stage>::Input>>,
            ) -> HandlerResult<Json<StageReply<<$stage as Stage>::Output>>> {
                let app = app(&self.app)?;
                Ok(Json(
                    run_stage::<$stage>(&ctx, app, req.into_inner()).await?,
                ))
            }
        }
    };
}

stage_service!(
    TimeInferenceService,
    "time-inference",
    crate::pipeline::TimeInferenceStage
);
stage_service!(
    FamilyAssignmentService,
    "family-assignment",
    crate::pipeline::FamilyAssignmentStage
);
stage_service!(
    TypeClassificationService,
    "type-classification",
    crate::pipeline::TypeClassificationStage
);
stage_service!(
    BooleanReviewService,
    "boolean-review",
    crate::pipeline::BooleanReviewStage
);
stage_service!(
    FinalReviewService,
    "final-review",
    crate::pipeline::FinalReviewStage
);
