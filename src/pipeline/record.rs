//! The source record of one indicator series, as imported and as stored in `source_indicators`.

use serde::{Deserialize, Serialize};

/// One observation of a series. `date` is kept as the source wrote it ("2024-01", "2023-Q4",
/// "2024-12-01", "2019"): the time-inference stage reads it as evidence and ignores pseudo-dates
/// such as `last10YearsAvg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplePoint {
    /// The period label as given by the source.
    pub date: String,
    /// The observed value (finite; non-finite values are rejected on import).
    pub value: f64,
}

/// An indicator series to classify.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IndicatorRecord {
    /// Stable id (a source series id such as `NY.GDP.MKTP.CD_USA`).
    pub id: String,
    /// Display name, e.g. "GDP Annual Growth Rate".
    pub name: String,
    /// Units as the source writes them, e.g. "USD Billion", "%", "Index, 2010=100".
    #[serde(default)]
    pub units: Option<String>,
    /// Declared periodicity, e.g. "monthly", "Quarterly", "A".
    #[serde(default)]
    pub periodicity: Option<String>,
    /// Source scale column, e.g. "Millions", "Hundred Million".
    #[serde(default)]
    pub scale: Option<String>,
    /// Source currency column (ISO 4217 when present).
    #[serde(default)]
    pub currency_code: Option<String>,
    /// Free-text description.
    #[serde(default)]
    pub description: Option<String>,
    /// Publisher, e.g. "World Bank".
    #[serde(default)]
    pub source: Option<String>,
    /// Source category group, e.g. "Prices".
    #[serde(default)]
    pub category_group: Option<String>,
    /// Source topic, e.g. "Inflation".
    #[serde(default)]
    pub topic: Option<String>,
    /// Source dataset name.
    #[serde(default)]
    pub dataset: Option<String>,
    /// Source aggregation method, e.g. "sum", "average", "end of period".
    #[serde(default)]
    pub aggregation_method: Option<String>,
    /// Recent observations, in any order.
    #[serde(default)]
    pub sample_values: Vec<SamplePoint>,
}
