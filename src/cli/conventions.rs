//! `conventions [--json|--prompt]`: the effective labelling conventions table (the built-in one
//! with the config file's `conventions:` overrides), so a house can see what its overrides did
//! and what the LLM prompts quote.

use crate::config::Config;
use crate::pipeline::conventions::{Class, ClassKind, Conventions};
use clap::Args;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

/// Arguments of `conventions`.
#[derive(Debug, Clone, Args)]
pub struct ConventionsArgs {
    /// Print the whole table (cues included) as JSON.
    #[arg(long, conflicts_with = "prompt")]
    pub json: bool,
    /// Print the conventions text the LLM prompts quote.
    #[arg(long)]
    pub prompt: bool,
}

/// Prints the effective table.
pub fn run(config: &Config, args: &ConventionsArgs) -> anyhow::Result<()> {
    let table = config.conventions()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&table)?);
    } else if args.prompt {
        print!("{}", table.prompt_text());
    } else {
        print!("{}", render(&table));
    }
    Ok(())
}

/// `value`, starred when the house overrode `field`.
fn shown(class: &Class, field: &str, value: Option<String>) -> String {
    match value {
        Some(v) if class.overridden.iter().any(|f| f == field) => format!("{v} *"),
        Some(v) => v,
        None => String::new(),
    }
}

fn render(t: &Conventions) -> String {
    let mut out = format!(
        "Labelling conventions: {} classes (undecided orientation: {}; review threshold: {})\n",
        t.classes.len(),
        t.undecided,
        t.review_threshold
    );
    let overridden = t
        .classes
        .iter()
        .filter(|c| !c.overridden.is_empty())
        .count();
    if overridden > 0 {
        out.push_str(&format!(
            "{overridden} class(es) overridden by the config file (marked *)\n"
        ));
    }
    for kind in [ClassKind::Subject, ClassKind::Form, ClassKind::Modifier] {
        let mut table = Table::new();
        table.load_style(UTF8_FULL_CONDENSED);
        let header: &[&str] = match kind {
            ClassKind::Subject => &["subject", "orientation", "what it measures"],
            ClassKind::Form => &[
                "form",
                "family / type",
                "temporal",
                "currency",
                "orientation",
                "what kind of number",
            ],
            ClassKind::Modifier => &["modifier", "temporal", "when"],
        };
        table.set_header(header.to_vec());
        for c in t.of_kind(kind) {
            let o = shown(c, "orientation", c.orientation.map(|v| v.to_string()));
            let temporal = shown(c, "temporal", c.temporal.map(|v| v.to_string()));
            let row = match kind {
                ClassKind::Subject => vec![c.name.clone(), o, c.summary.clone()],
                ClassKind::Form => {
                    let ft = match (c.family, c.indicator_type) {
                        (Some(f), Some(ty)) => Some(format!("{f} / {ty}")),
                        _ => None,
                    };
                    let field = if c.overridden.iter().any(|f| f == "type") {
                        "type"
                    } else {
                        "family"
                    };
                    vec![
                        c.name.clone(),
                        shown(c, field, ft),
                        temporal,
                        shown(c, "currency", c.currency.map(|v| v.as_str().to_string())),
                        o,
                        c.summary.clone(),
                    ]
                }
                ClassKind::Modifier => vec![c.name.clone(), temporal, c.summary.clone()],
            };
            table.add_row(row);
        }
        out.push_str(&format!(
            "\n{}s (first match wins):\n{table}\n",
            kind.as_str()
        ));
    }
    out
}
