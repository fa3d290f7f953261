//! The bundled synthetic dataset: deterministic, exactly 10,903 series by default, and shaped
//! like the original population (names × countries, unit variants, frequencies, dates, YTD).

use restate_classify::dataset::{
    self, DEFAULT_COUNT, DatasetError, GenerateOptions, SOURCE, Series, calendar::Frequency,
    catalog, countries,
};
use restate_classify::import::dates::{self, SampleDate};
use restate_classify::import::row::{Limits, RawNumber, RawPoint, RawRow, validate};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

fn default_set() -> &'static [Series] {
    static SET: OnceLock<Vec<Series>> = OnceLock::new();
    SET.get_or_init(|| dataset::generate(GenerateOptions::default()).unwrap())
}

fn by_name() -> BTreeMap<&'static str, Vec<&'static Series>> {
    let mut m: BTreeMap<&str, Vec<&Series>> = BTreeMap::new();
    for s in default_set() {
        m.entry(s.indicator.as_str()).or_default().push(s);
    }
    m
}

#[test]
fn default_dataset_has_exactly_10903_series_with_every_seed_name() {
    let set = default_set();
    assert_eq!(set.len(), DEFAULT_COUNT);
    assert_eq!(DEFAULT_COUNT, 10_903);
    let ids: HashSet<&str> = set.iter().map(|s| s.record.id.as_str()).collect();
    assert_eq!(ids.len(), set.len(), "ids are unique");
    let target: BTreeSet<&str> = include_str!("data/seed-target-indicators.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(target.len(), 109);
    let names: BTreeSet<&str> = set.iter().map(|s| s.record.name.as_str()).collect();
    assert_eq!(names, target);
    for s in set {
        assert_eq!(s.record.source.as_deref(), Some(SOURCE));
        assert!(SOURCE.contains("synthetic"));
        let slug = catalog::slug(&s.indicator);
        assert_eq!(s.record.id, format!("{slug}_{}", s.country));
    }
}

#[test]
fn generation_is_deterministic_per_seed() {
    let again = dataset::generate(GenerateOptions::default()).unwrap();
    assert!(again == default_set(), "same seed, same series");
    let other = dataset::generate(GenerateOptions {
        seed: dataset::DEFAULT_SEED + 1,
        ..GenerateOptions::default()
    })
    .unwrap();
    assert_eq!(other.len(), DEFAULT_COUNT);
    let ids =
        |set: &[Series]| -> HashSet<String> { set.iter().map(|s| s.record.id.clone()).collect() };
    assert_ne!(
        ids(&other),
        ids(default_set()),
        "another seed picks other countries"
    );
    let first: HashMap<&str, &Series> = default_set()
        .iter()
        .map(|s| (s.record.id.as_str(), s))
        .collect();
    let shared: Vec<_> = other
        .iter()
        .filter_map(|s| first.get(s.record.id.as_str()).map(|f| (f, s)))
        .collect();
    let differ = shared
        .iter()
        .filter(|(a, b)| a.record.sample_values != b.record.sample_values)
        .count();
    assert!(
        differ * 100 > shared.len() * 95,
        "{differ} of {} shared ids differ",
        shared.len()
    );
}

#[test]
fn coverage_follows_statistical_capacity_and_eligibility() {
    let all = countries::all();
    let tier: HashMap<&str, u8> = all.iter().map(|c| (c.iso3.as_str(), c.tier)).collect();
    let oil: HashSet<&str> = all
        .iter()
        .filter(|c| c.has("oil"))
        .map(|c| c.iso3.as_str())
        .collect();
    let names = by_name();
    for (name, series) in &names {
        let countries: HashSet<&str> = series.iter().map(|s| s.country.as_str()).collect();
        assert_eq!(
            countries.len(),
            series.len(),
            "{name}: one series per country"
        );
    }
    assert!(names["GDP"].len() >= 175 && names["Population"].len() >= 175);
    assert!(names["Car Registrations"].len() < 60);
    assert!(
        names["Crude Oil Production"]
            .iter()
            .all(|s| oil.contains(s.country.as_str()))
    );
    let covered: HashSet<&str> = default_set().iter().map(|s| s.country.as_str()).collect();
    assert!(covered.len() >= 175, "{} countries", covered.len());
    // Advanced economies publish far more of the 109 indicators than small states.
    let mut per_tier = [(0usize, 0usize); 4];
    let mut per_country: HashMap<&str, usize> = HashMap::new();
    for s in default_set() {
        *per_country.entry(&s.country).or_default() += 1;
    }
    for (c, n) in &per_country {
        let t = usize::from(tier[c]) - 1;
        per_tier[t].0 += n;
        per_tier[t].1 += 1;
    }
    let avg: Vec<f64> = per_tier
        .iter()
        .map(|(n, k)| *n as f64 / *k as f64)
        .collect();
    assert!(
        avg[0] > 85.0 && avg[0] > avg[1] && avg[1] > avg[2] && avg[2] > avg[3] && avg[3] < 50.0,
        "{avg:?}"
    );
}

/// Whether `units` can come from `template` ({cur}: 3 capitals, {scale}/{scales}: a scale word).
fn matches_template(units: &str, template: &str) -> bool {
    let scales = [
        "Thousand",
        "Million",
        "Billion",
        "Trillion",
        "Hundred Million",
    ];
    let mut candidates = vec![template.to_string()];
    if template.contains("{scales}") {
        candidates = scales
            .iter()
            .map(|s| template.replace("{scales}", &format!("{s}s")))
            .collect();
    } else if template.contains("{scale}") {
        candidates = scales
            .iter()
            .map(|s| template.replace("{scale}", s))
            .collect();
    }
    candidates.iter().any(|t| match t.split_once("{cur}") {
        None => t == units,
        Some((pre, post)) => {
            units.len() == pre.len() + 3 + post.len()
                && units.starts_with(pre)
                && units.ends_with(post)
                && units[pre.len()..pre.len() + 3]
                    .chars()
                    .all(|c| c.is_ascii_uppercase())
        }
    })
}

#[test]
fn unit_variants_are_realistic_and_come_from_the_catalog() {
    let catalog: HashMap<&str, &catalog::Indicator> = catalog::all()
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect();
    let mut distinct = HashSet::new();
    for s in default_set() {
        let units = s.record.units.clone().unwrap_or_default();
        let ind = catalog[s.indicator.as_str()];
        assert!(
            ind.units.iter().any(|v| matches_template(&units, &v.units)),
            "{}: {units:?} is none of its variants",
            s.record.id
        );
        if let Some(code) = &s.record.currency_code {
            assert!(
                code.len() == 3 && units.contains(code.as_str())
                    || units.starts_with("National")
                    || units.contains("Dollars")
                    || units.contains("dollars"),
                "{}: {code} vs {units}",
                s.record.id
            );
        }
        distinct.insert(units);
    }
    assert!(distinct.len() >= 150, "{} distinct units", distinct.len());
    let names = by_name();
    let variants = |name: &str| {
        names[name]
            .iter()
            .map(|s| s.record.units.clone())
            .collect::<HashSet<_>>()
            .len()
    };
    for name in [
        "Exports",
        "Money Supply M2",
        "Balance of Trade",
        "Current Account",
        "GDP Constant Prices",
    ] {
        assert!(
            variants(name) >= 20,
            "{name}: {} unit variants",
            variants(name)
        );
    }
    assert_eq!(variants("GDP"), 1);
    for want in [
        "USD Billion",
        "EUR Million",
        "CNY Hundred Million",
        "National currency, Billions",
        "%",
        "Index, 2015=100",
        "BBL/D/1K",
        "Points",
        "Persons",
        "Thousand",
    ] {
        assert!(distinct.contains(want), "no series in {want:?}");
    }
    let china_m2 = names["Money Supply M2"]
        .iter()
        .find(|s| s.country == "CHN")
        .unwrap();
    assert_eq!(
        china_m2.record.units.as_deref(),
        Some("CNY Hundred Million")
    );
    assert_eq!(china_m2.record.scale.as_deref(), Some("Hundred Millions"));
}

/// Days between the starts of consecutive periods that a frequency allows.
fn gap_days(freq: Frequency) -> std::ops::RangeInclusive<i64> {
    match freq {
        Frequency::Daily => 1..=3,
        Frequency::Weekly => 7..=7,
        Frequency::Monthly => 28..=31,
        Frequency::Quarterly => 90..=92,
        Frequency::Yearly => 365..=366,
    }
}

/// The first day of the period a date label stands for, given the series' frequency (a full date
/// stands for the period that ends on it).
fn period_start(label: &str, freq: Frequency) -> chrono::NaiveDate {
    use chrono::Datelike;
    let parsed = dates::parse(label).unwrap_or_else(|| panic!("{label:?} does not parse"));
    match (parsed, freq) {
        (SampleDate::Day(d), Frequency::Monthly) => d.with_day(1).unwrap(),
        (SampleDate::Day(d), Frequency::Quarterly) => {
            assert!(d.month() % 3 == 0, "{label} does not end a quarter");
            chrono::NaiveDate::from_ymd_opt(d.year(), d.month() - 2, 1).unwrap()
        }
        (SampleDate::Day(d), Frequency::Yearly) => {
            assert!(
                d.month() == 12 && d.day() == 31,
                "{label} does not end a year"
            );
            chrono::NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap()
        }
        (SampleDate::Day(d), Frequency::Weekly) => {
            assert_eq!(d.weekday(), chrono::Weekday::Fri, "{label}");
            d - chrono::Days::new(4)
        }
        (SampleDate::Day(d), Frequency::Daily) => d,
        (SampleDate::Year(_), Frequency::Yearly)
        | (SampleDate::Quarter(..), Frequency::Quarterly)
        | (SampleDate::Month(..), Frequency::Monthly)
        | (SampleDate::Week(..), Frequency::Weekly) => parsed.start().unwrap(),
        (other, f) => panic!("{label:?} ({other:?}) is not a {f:?} date"),
    }
}

#[test]
fn sample_counts_and_dates_match_the_frequency() {
    let mut pseudo = 0;
    let mut per_freq: HashMap<Frequency, usize> = HashMap::new();
    for s in default_set() {
        let points = &s.record.sample_values;
        assert!(
            (24..=60).contains(&points.len()),
            "{}: {} points",
            s.record.id,
            points.len()
        );
        *per_freq.entry(s.frequency).or_default() += 1;
        let mut starts = Vec::new();
        for p in points {
            if dates::is_pseudo_date(&p.date) {
                pseudo += 1;
                continue;
            }
            starts.push(period_start(&p.date, s.frequency));
        }
        starts.sort();
        for w in starts.windows(2) {
            let gap = (w[1] - w[0]).num_days();
            assert!(
                gap_days(s.frequency).contains(&gap),
                "{}: {} → {} for {:?}",
                s.record.id,
                w[0],
                w[1],
                s.frequency
            );
        }
        let last = *starts.last().unwrap();
        assert!(
            last >= chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap()
                && last < chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
            "{}: ends {last}",
            s.record.id
        );
        let expected_word = match s.frequency {
            Frequency::Yearly => ["Yearly", "Annual", "annual"].as_slice(),
            Frequency::Quarterly => &["Quarterly"],
            Frequency::Monthly => &["Monthly"],
            Frequency::Weekly => &["Weekly"],
            Frequency::Daily => &["Daily"],
        };
        assert!(
            expected_word.contains(&s.record.periodicity.as_deref().unwrap()),
            "{}",
            s.record.id
        );
    }
    assert!(
        pseudo > 100,
        "some IMF-style series carry last10YearsAvg ({pseudo})"
    );
    for f in [
        Frequency::Daily,
        Frequency::Weekly,
        Frequency::Monthly,
        Frequency::Quarterly,
        Frequency::Yearly,
    ] {
        assert!(
            per_freq.get(&f).copied().unwrap_or(0) > 0,
            "no {f:?} series"
        );
    }
    assert!(per_freq[&Frequency::Monthly] > 2000 && per_freq[&Frequency::Quarterly] > 1500);
}

#[test]
fn year_to_date_series_restart_every_january() {
    let ytd: Vec<&Series> = default_set().iter().filter(|s| s.ytd).collect();
    assert!(ytd.len() >= 6, "{} YTD series", ytd.len());
    assert!(
        ytd.iter()
            .any(|s| s.record.id == "foreign_direct_investment_CHN")
    );
    for s in ytd {
        let mut points: Vec<(chrono::NaiveDate, f64)> = s
            .record
            .sample_values
            .iter()
            .map(|p| (period_start(&p.date, s.frequency), p.value))
            .collect();
        points.sort_by_key(|p| p.0);
        use chrono::Datelike;
        let mut resets = 0;
        for w in points.windows(2) {
            let ((d0, v0), (d1, v1)) = (w[0], w[1]);
            if d1.year() != d0.year() {
                assert!(
                    v1 < v0,
                    "{}: {d1} ({v1}) should restart below {d0} ({v0})",
                    s.record.id
                );
                resets += 1;
            } else {
                assert!(
                    v1 > v0,
                    "{}: {d1} ({v1}) should grow from {d0} ({v0})",
                    s.record.id
                );
            }
        }
        assert!(resets >= 1, "{}", s.record.id);
    }
}

#[test]
fn values_are_finite_plausible_and_pass_import_validation() {
    let limits = Limits::default();
    for s in default_set() {
        let r = &s.record;
        assert!(r.sample_values.iter().all(|p| p.value.is_finite()));
        let raw = RawRow {
            row: 1,
            id: Some(r.id.clone()),
            name: Some(r.name.clone()),
            units: r.units.clone(),
            samples: r
                .sample_values
                .iter()
                .map(|p| RawPoint {
                    date: Some(p.date.clone()),
                    value: RawNumber::Number(p.value),
                })
                .collect(),
            ..Default::default()
        };
        validate(raw, &limits).unwrap_or_else(|e| panic!("{e}"));
        let units = r.units.as_deref().unwrap_or_default();
        if r.name.contains("Rate")
            && units == "%"
            && !r.name.contains("Interest")
            && !r.name.contains("Growth")
            && !r.name.contains("MoM")
            && !r.name.contains("Inflation")
        {
            assert!(
                r.sample_values
                    .iter()
                    .all(|p| (-5.0..=100.0).contains(&p.value)),
                "{}",
                r.id
            );
        }
        if [
            "Population",
            "GDP",
            "Money Supply M2",
            "Exports",
            "Tourist Arrivals",
        ]
        .contains(&r.name.as_str())
        {
            assert!(r.sample_values.iter().all(|p| p.value > 0.0), "{}", r.id);
        }
    }
    let china_pop = default_set()
        .iter()
        .find(|s| s.record.id == "population_CHN")
        .unwrap();
    let last = china_pop.record.sample_values.last().unwrap();
    if china_pop.record.units.as_deref() == Some("Million") {
        assert!((1300.0..1500.0).contains(&last.value), "{last:?}");
    }
    let balances = by_name()["Balance of Trade"]
        .iter()
        .flat_map(|s| s.record.sample_values.iter())
        .filter(|p| p.value < 0.0)
        .count();
    assert!(balances > 100, "trade balances cross zero");
}

#[test]
fn other_counts_keep_every_name_and_too_many_is_an_error() {
    let small = dataset::generate(GenerateOptions {
        count: 500,
        seed: 1,
    })
    .unwrap();
    assert_eq!(small.len(), 500);
    let names: HashSet<&str> = small.iter().map(|s| s.indicator.as_str()).collect();
    assert_eq!(names.len(), 109);
    let max = dataset::max_count();
    assert!(max > DEFAULT_COUNT);
    assert_eq!(
        dataset::generate(GenerateOptions {
            count: max + 1,
            seed: 1
        })
        .unwrap_err(),
        DatasetError::TooMany {
            requested: max + 1,
            max
        }
    );
}
