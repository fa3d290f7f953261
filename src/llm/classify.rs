//! Classifying a record outside Restate with an [`Executor`]: the same path as
//! `pipeline::classify_with_rules` (and the workflow), with each LLM-capable stage answered by
//! the executor (LLM, cache, or the rules engine standing in). For `eval` and the LLM
//! benchmark.

use super::Executor;
use crate::db::results::Provenance;
use crate::pipeline::{
    BooleanReviewStage, Classification, FamilyAssignmentStage, FamilyInput, FinalInput,
    FinalReviewStage, IndicatorFacts, IndicatorRecord, NormalizationInput, NormalizationStage,
    ReviewInput, Stage, StageName, TimeInferenceStage, TimeInput, TypeClassificationStage,
    TypeInput, apply_final, assemble, needs_final_review,
};
use std::collections::BTreeMap;

/// A classification with who answered each stage.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifiedRecord {
    /// The result.
    pub classification: Classification,
    /// Provenance per stage that ran.
    pub provenance: BTreeMap<StageName, Provenance>,
}

/// Classifies `record` along the workflow's path, answering stages with `executor`.
pub async fn classify_record(
    executor: &Executor,
    record: &IndicatorRecord,
    run_id: Option<&str>,
) -> ClassifiedRecord {
    let mut provenance = BTreeMap::new();
    let facts = IndicatorFacts::from_record(record);
    let norm = NormalizationStage::rules(&NormalizationInput::new(&facts));
    provenance.insert(StageName::Normalization, Provenance::rules());

    let time = executor
        .answer_or_rules::<TimeInferenceStage>(&TimeInput::new(&facts, &norm), run_id)
        .await;
    provenance.insert(StageName::TimeInference, time.provenance);
    let time = time.output;

    let family = executor
        .answer_or_rules::<FamilyAssignmentStage>(&FamilyInput::new(&facts, &norm, &time), run_id)
        .await;
    provenance.insert(StageName::FamilyAssignment, family.provenance);
    let family = family.output;

    let typ = executor
        .answer_or_rules::<TypeClassificationStage>(
            &TypeInput::new(&facts, &norm, &time, &family),
            run_id,
        )
        .await;
    provenance.insert(StageName::TypeClassification, typ.provenance);
    let draft = assemble(&norm, &time, &family, &typ.output);

    let review = executor
        .answer_or_rules::<BooleanReviewStage>(&ReviewInput::new(&facts, &norm, &draft), run_id)
        .await;
    provenance.insert(StageName::BooleanReview, review.provenance);
    let review = review.output;
    let draft = draft.with_review(&review);
    if !needs_final_review(&review) {
        return ClassifiedRecord {
            classification: draft,
            provenance,
        };
    }
    let fin = executor
        .answer_or_rules::<FinalReviewStage>(
            &FinalInput::new(&facts, &norm, &draft, &review),
            run_id,
        )
        .await;
    provenance.insert(StageName::FinalReview, fin.provenance);
    ClassifiedRecord {
        classification: apply_final(draft, &fin.output),
        provenance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rules_only_executor_matches_classify_with_rules() {
        let record = IndicatorRecord {
            id: "x".into(),
            name: "GDP Annual Growth Rate".into(),
            units: Some("%".into()),
            periodicity: Some("Quarterly".into()),
            ..Default::default()
        };
        let got = classify_record(&Executor::rules_only(), &record, None).await;
        assert_eq!(
            got.classification,
            crate::pipeline::classify_with_rules(&record)
        );
        assert!(
            got.provenance
                .values()
                .all(|p| p.provider == "rules" && !p.fallback)
        );
    }
}
