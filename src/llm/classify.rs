//! Classifying a record outside Restate with an [`Executor`]: the pipeline's one driver
//! (`pipeline::driver`), each LLM-capable stage answered by the executor (LLM, cache, or the
//! rules engine standing in). For `eval` and the LLM benchmark.

use super::{Executor, Scope};
use crate::pipeline::driver::{Answerer, Driven, drive};
use crate::pipeline::provenance::{Answered, Provenance};
use crate::pipeline::{IndicatorFacts, IndicatorRecord, LlmStage, NormalizationInput};
use crate::pipeline::{NormalizationStage, Stage};

/// The executor as the driver's answerer: the LLM where configured (the rules engine standing
/// in when it gives up), else the rules.
struct ExecutorAnswers<'a> {
    executor: &'a Executor,
    scope: Scope<'a>,
}

impl Answerer for ExecutorAnswers<'_> {
    type Error = std::convert::Infallible;

    async fn answer<S: LlmStage>(
        &mut self,
        input: S::Input,
    ) -> Result<Answered<S::Output>, Self::Error> {
        Ok(self.executor.answer_or_rules::<S>(&input, self.scope).await)
    }
}

/// Classifies `record` along the workflow's path, answering stages with `executor`.
pub async fn classify_record(
    executor: &Executor,
    record: &IndicatorRecord,
    run_id: Option<&str>,
) -> Driven {
    let facts = IndicatorFacts::from_record(record);
    let norm = NormalizationStage::rules(&NormalizationInput::new(&facts));
    let mut answers = ExecutorAnswers {
        executor,
        scope: Scope {
            run_id,
            item: Some(&record.id),
        },
    };
    match drive(&mut answers, &facts, &norm, Provenance::rules()).await {
        Ok(driven) => driven,
        Err(never) => match never {},
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
