//! A small test-only LLM stage (family assignment from name and units) with its own rules, used
//! to exercise the LLM layer and llm-sim through the real `LlmStage` contract.
#![allow(dead_code)]

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use restate_classify::pipeline::stage::{
    INPUT_FENCE_CLOSE, INPUT_FENCE_OPEN, InvalidAnswer, LlmStage, Prompt, Stage, StageName,
};
use restate_classify::pipeline::taxonomy::Family;
use restate_classify::sim::Answerer;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

/// Toy stage input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToyInput {
    pub name: String,
    pub units: String,
}

/// Toy stage output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToyOutput {
    pub family: Family,
}

/// The toy stage (it answers as family-assignment).
pub struct Toy;

/// A system prompt long enough (> 1024 tokens) for provider-side prompt caching.
pub fn system_prompt() -> String {
    let mut s =
        String::from("You classify economic indicators into exactly one family of the taxonomy.\n");
    for i in 0..120 {
        s.push_str(&format!("Rule {i}: read the name, the units and the description; prefer the most specific family.\n"));
    }
    s
}

impl Stage for Toy {
    const NAME: StageName = StageName::FamilyAssignment;
    type Input = ToyInput;
    type Output = ToyOutput;

    fn rules_with(
        input: &ToyInput,
        _conv: &restate_classify::pipeline::conventions::Conventions,
    ) -> ToyOutput {
        let family = if input.units.contains('%') {
            Family::ChangeMovement
        } else if input.units.to_lowercase().contains("index") {
            Family::CompositeDerived
        } else {
            Family::PriceValue
        };
        ToyOutput { family }
    }
}

impl LlmStage for Toy {
    fn prompt(input: &ToyInput) -> Prompt {
        let json = serde_json::to_string(input).expect("serialisable");
        Prompt {
            stage: Self::NAME,
            system: system_prompt(),
            user: format!(
                "Assign the family of this indicator.\n{INPUT_FENCE_OPEN}{json}{INPUT_FENCE_CLOSE}"
            ),
            schema: json!({
                "type": "object",
                "properties": {"family": {"type": "string", "enum": Family::names()}},
                "required": ["family"],
                "additionalProperties": false,
            }),
        }
    }

    fn parse_answer(_input: &ToyInput, answer: &Value) -> Result<ToyOutput, InvalidAnswer> {
        let invalid = |reason: String| InvalidAnswer {
            stage: Self::NAME,
            reason,
        };
        let family = answer
            .get("family")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("missing family".into()))?
            .parse::<Family>()
            .map_err(|e| invalid(e.to_string()))?;
        Ok(ToyOutput { family })
    }

    fn render_answer(output: &ToyOutput) -> Value {
        json!({"family": output.family.as_str()})
    }

    fn confidence(_output: &ToyOutput) -> f64 {
        // The toy stage is never sure: the cascade always asks the LLM.
        0.0
    }
}

/// llm-sim answers for the toy stage: its rules.
pub fn answerer() -> Answerer {
    Arc::new(|stage: StageName, input: &str| {
        if stage != StageName::FamilyAssignment {
            return Err(format!(
                "toy answerer knows only family-assignment, not {stage}"
            ));
        }
        let input: ToyInput = serde_json::from_str(input).map_err(|e| e.to_string())?;
        Ok(Toy::render_answer(&Toy::rules(&input)))
    })
}

/// `n` distinct inputs.
pub fn inputs(n: usize) -> Vec<ToyInput> {
    (0..n)
        .map(|i| ToyInput {
            name: format!("Indicator {i}"),
            units: ["%", "Index, 2010=100", "USD Million"][i % 3].to_string(),
        })
        .collect()
}

/// A pool on `url` with the schema migrated (the LLM tables included).
pub async fn pool_with_llm_schema(url: &str) -> Pool {
    let pg: tokio_postgres::Config = url.parse().expect("postgres url");
    let mgr = Manager::from_config(
        pg,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(mgr).max_size(8).build().expect("pool");
    let mut client = pool.get().await.expect("connection");
    restate_classify::db::migrate::run_embedded(&mut client)
        .await
        .expect("migrations");
    pool
}
