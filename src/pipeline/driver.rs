//! The one path every classification takes after normalization, written once and generic over
//! who answers a stage: the rules engine ([`Rules`], here, under a conventions table), the LLM executor (`eval`,
//! `bench llm`), or a call to the stage's Restate service (the workflow).
//!
//! The driver is `async` only so that an answerer may wait; it does no I/O itself, and with
//! [`Rules`] it completes on its first poll ([`classify_with_rules`](super::classify_with_rules)
//! runs it synchronously).

use super::conventions::Conventions;
use super::provenance::{Answered, Provenance};
use super::stage::{LlmStage, StageName};
use super::{
    BooleanReviewStage, Classification, FamilyAssignmentStage, FamilyInput, FinalInput,
    FinalReviewStage, IndicatorFacts, NormalizationOutput, ReviewInput, Stage, TimeInferenceStage,
    TimeInput, TypeClassificationStage, TypeInput, apply_final, assemble, needs_final_review,
};
use std::collections::BTreeMap;
use std::future::Future;

/// Who answers the LLM-capable stages.
pub(crate) trait Answerer {
    /// Why a stage got no answer (the rules engine always answers).
    type Error;

    /// Answers stage `S` for `input`.
    fn answer<S: LlmStage>(
        &mut self,
        input: S::Input,
    ) -> impl Future<Output = Result<Answered<S::Output>, Self::Error>>;
}

/// The rules engine as an answerer, under a conventions table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules<'c> {
    conv: &'c Conventions,
}

impl<'c> Rules<'c> {
    /// The rules under `conv` (a house's overrides, in `eval` and tests).
    pub(crate) fn with(conv: &'c Conventions) -> Self {
        Self { conv }
    }

    /// Stage `S` answered by these rules, with its provenance.
    pub(crate) fn answered<S: Stage>(&self, input: &S::Input) -> Answered<S::Output> {
        Answered {
            output: S::rules_with(input, self.conv),
            provenance: Provenance::rules(),
        }
    }
}

impl Rules<'static> {
    /// The rules under this process's conventions ([`super::conventions::effective`]).
    pub(crate) fn effective() -> Self {
        Self::with(super::conventions::effective())
    }
}

impl Answerer for Rules<'_> {
    type Error = std::convert::Infallible;

    fn answer<S: LlmStage>(
        &mut self,
        input: S::Input,
    ) -> impl Future<Output = Result<Answered<S::Output>, Self::Error>> {
        std::future::ready(Ok(self.answered::<S>(&input)))
    }
}

/// A classification with who answered each stage that ran.
#[derive(Debug, Clone, PartialEq)]
pub struct Driven {
    /// The result.
    pub classification: Classification,
    /// Provenance per stage that ran (normalization included, as the rules engine).
    pub provenance: BTreeMap<StageName, Provenance>,
}

/// Time inference, family, type, boolean review and (when the review flagged something) final
/// review, in order, each answered by `answerer`, from the facts and the normalization.
pub(crate) async fn drive<A: Answerer>(
    answerer: &mut A,
    facts: &IndicatorFacts,
    norm: &NormalizationOutput,
    norm_provenance: Provenance,
) -> Result<Driven, A::Error> {
    let mut provenance = BTreeMap::from([(StageName::Normalization, norm_provenance)]);
    let mut note = |stage: StageName, p: Provenance| {
        provenance.insert(stage, p);
    };

    let time = answerer
        .answer::<TimeInferenceStage>(TimeInput::new(facts, norm))
        .await?;
    note(StageName::TimeInference, time.provenance);
    let family = answerer
        .answer::<FamilyAssignmentStage>(FamilyInput::new(facts, norm, &time.output))
        .await?;
    note(StageName::FamilyAssignment, family.provenance);
    let typ = answerer
        .answer::<TypeClassificationStage>(TypeInput::new(
            facts,
            norm,
            &time.output,
            &family.output,
        ))
        .await?;
    note(StageName::TypeClassification, typ.provenance);

    let draft = assemble(norm, &time.output, &family.output, &typ.output);
    let review = answerer
        .answer::<BooleanReviewStage>(ReviewInput::new(facts, norm, &draft))
        .await?;
    note(StageName::BooleanReview, review.provenance);
    let draft = draft.with_review(&review.output);
    let classification = if needs_final_review(&review.output) {
        tracing::debug!(id = %facts.identity.id, flags = ?review.output.flags, "boolean review flagged fields");
        let fin = answerer
            .answer::<FinalReviewStage>(FinalInput::new(facts, norm, &draft, &review.output))
            .await?;
        note(StageName::FinalReview, fin.provenance);
        apply_final(draft, &fin.output)
    } else {
        draft
    };
    Ok(Driven {
        classification,
        provenance,
    })
}

/// Runs a future that never waits (the driver with [`Rules`]) to completion, synchronously.
pub(crate) fn now<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        // Invariant: the rules answerer's futures are `ready`, so the driver never suspends.
        std::task::Poll::Pending => unreachable!("the rules engine answered asynchronously"),
    }
}
