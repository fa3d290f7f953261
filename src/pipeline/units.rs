//! Reading unit strings: magnitude words ("USD Billion", "Hundred Million", "BBL/D/1K"), currencies
//! (ISO codes, currency names, "current US$", "LCU"), the kind of unit, and its denominator.
//!
//! ISO codes that are also English words ("ALL", "TRY", "CUP", "TOP", …) count only when written in
//! capitals in a currency position: alone, next to a magnitude word or a number, in a currency
//! pair, or after "in"/"per".

use super::taxonomy::{CurrencyCode, Scale, UnitType};
use super::text::Text;

/// A magnitude: a taxonomy scale and an extra factor (1, 10 or 100). "Hundred million" (1e8) has
/// no taxonomy member and is `(Millions, 100)`; "ten thousand" (1e4) is `(Thousands, 10)`.
pub(crate) type Magnitude = (Scale, u16);

/// Multi-word magnitudes first, so "hundred million" is not read as "million".
const SCALE_PHRASES: &[(&str, Scale, u16)] = &[
    ("hundred billion", Scale::Billions, 100),
    ("hundred billions", Scale::Billions, 100),
    ("ten billion", Scale::Billions, 10),
    ("ten billions", Scale::Billions, 10),
    ("hundred million", Scale::Millions, 100),
    ("hundred millions", Scale::Millions, 100),
    ("hundreds of millions", Scale::Millions, 100),
    ("ten million", Scale::Millions, 10),
    ("ten millions", Scale::Millions, 10),
    ("tens of millions", Scale::Millions, 10),
    ("hundred thousand", Scale::Thousands, 100),
    ("hundred thousands", Scale::Thousands, 100),
    ("hundreds of thousands", Scale::Thousands, 100),
    ("ten thousand", Scale::Thousands, 10),
    ("ten thousands", Scale::Thousands, 10),
    ("tens of thousands", Scale::Thousands, 10),
    ("trillion", Scale::Trillions, 1),
    ("trillions", Scale::Trillions, 1),
    ("tn", Scale::Trillions, 1),
    ("trn", Scale::Trillions, 1),
    ("billion", Scale::Billions, 1),
    ("billions", Scale::Billions, 1),
    ("bn", Scale::Billions, 1),
    ("bln", Scale::Billions, 1),
    ("million", Scale::Millions, 1),
    ("millions", Scale::Millions, 1),
    ("mn", Scale::Millions, 1),
    ("mln", Scale::Millions, 1),
    ("mio", Scale::Millions, 1),
    ("thousand", Scale::Thousands, 1),
    ("thousands", Scale::Thousands, 1),
    ("thous", Scale::Thousands, 1),
    ("1k", Scale::Thousands, 1),
    ("k", Scale::Thousands, 1),
    ("hundred", Scale::Hundreds, 1),
    ("hundreds", Scale::Hundreds, 1),
];

/// Reads a source `scale` column ("Millions", "Hundred Million", "Units"). `None` when the
/// column says nothing recognisable.
pub(crate) fn scale_from_column(column: &str) -> Option<Magnitude> {
    let t = Text::new(column);
    if t.is_empty() {
        return None;
    }
    if matches!(
        t.as_str(),
        "units" | "unit" | "ones" | "one" | "1" | "none" | "raw"
    ) {
        return Some((Scale::Raw, 1));
    }
    scale_in_text(column)
}

/// The magnitude named in a units string, ignoring "per thousand" style denominators.
pub(crate) fn scale_in_text(units: &str) -> Option<Magnitude> {
    if units.contains("'000") || units.contains("000s") {
        return Some((Scale::Thousands, 1));
    }
    let text = Text::new(units);
    let words: Vec<&str> = text.words().collect();
    find_scale(&words)
}

/// Scans words for the first magnitude phrase not introduced by "per".
fn find_scale(words: &[&str]) -> Option<Magnitude> {
    for i in 0..words.len() {
        if i > 0 && words[i - 1] == "per" {
            continue;
        }
        for (phrase, scale, factor) in SCALE_PHRASES {
            let parts: Vec<&str> = phrase.split(' ').collect();
            if words.len() >= i + parts.len() && words[i..i + parts.len()] == parts[..] {
                return Some((*scale, *factor));
            }
        }
    }
    None
}

/// Currency codes that are also English words; they need capitals and a currency position.
const WORD_CODES: &[&str] = &[
    "ALL", "BAM", "BOB", "CAD", "COP", "CUP", "ERN", "GEL", "MAD", "MOP", "PEN", "RON", "RUB",
    "SOS", "TOP", "TRY",
];

/// Currency names (adjective forms before bare ones) and the code they stand for.
const CURRENCY_NAMES: &[(&str, &str)] = &[
    ("hong kong dollar", "HKD"),
    ("canadian dollar", "CAD"),
    ("australian dollar", "AUD"),
    ("new zealand dollar", "NZD"),
    ("singapore dollar", "SGD"),
    ("taiwan dollar", "TWD"),
    ("jamaican dollar", "JMD"),
    ("namibian dollar", "NAD"),
    ("east caribbean dollar", "XCD"),
    ("trinidad and tobago dollar", "TTD"),
    ("fiji dollar", "FJD"),
    ("bahamian dollar", "BSD"),
    ("barbados dollar", "BBD"),
    ("belize dollar", "BZD"),
    ("guyana dollar", "GYD"),
    ("liberian dollar", "LRD"),
    ("brunei dollar", "BND"),
    ("zimbabwe dollar", "ZWL"),
    ("us dollar", "USD"),
    ("us dollars", "USD"),
    ("u s dollar", "USD"),
    ("u s dollars", "USD"),
    ("us $", "USD"),
    ("u s $", "USD"),
    ("euro", "EUR"),
    ("euros", "EUR"),
    ("pound sterling", "GBP"),
    ("british pound", "GBP"),
    ("british pounds", "GBP"),
    ("sterling", "GBP"),
    ("egyptian pound", "EGP"),
    ("lebanese pound", "LBP"),
    ("sudanese pound", "SDG"),
    ("syrian pound", "SYP"),
    ("japanese yen", "JPY"),
    ("yen", "JPY"),
    ("yuan", "CNY"),
    ("renminbi", "CNY"),
    ("rmb", "CNY"),
    ("turkish lira", "TRY"),
    ("indian rupee", "INR"),
    ("indian rupees", "INR"),
    ("pakistani rupee", "PKR"),
    ("pakistan rupee", "PKR"),
    ("sri lankan rupee", "LKR"),
    ("sri lanka rupee", "LKR"),
    ("nepalese rupee", "NPR"),
    ("mauritian rupee", "MUR"),
    ("seychelles rupee", "SCR"),
    ("rupiah", "IDR"),
    ("naira", "NGN"),
    ("south african rand", "ZAR"),
    ("rand", "ZAR"),
    ("brazilian real", "BRL"),
    ("brazilian reais", "BRL"),
    ("reais", "BRL"),
    ("korean won", "KRW"),
    ("belarusian ruble", "BYN"),
    ("belarusian rouble", "BYN"),
    ("russian ruble", "RUB"),
    ("russian rouble", "RUB"),
    ("ruble", "RUB"),
    ("rubles", "RUB"),
    ("rouble", "RUB"),
    ("roubles", "RUB"),
    ("ringgit", "MYR"),
    ("baht", "THB"),
    ("vietnamese dong", "VND"),
    ("dong", "VND"),
    ("taka", "BDT"),
    ("cedi", "GHS"),
    ("cedis", "GHS"),
    ("kenyan shilling", "KES"),
    ("kenya shilling", "KES"),
    ("ugandan shilling", "UGX"),
    ("uganda shilling", "UGX"),
    ("tanzanian shilling", "TZS"),
    ("tanzania shilling", "TZS"),
    ("somali shilling", "SOS"),
    ("zambian kwacha", "ZMW"),
    ("malawian kwacha", "MWK"),
    ("malawi kwacha", "MWK"),
    ("albanian lek", "ALL"),
    ("lek", "ALL"),
    ("zloty", "PLN"),
    ("forint", "HUF"),
    ("koruna", "CZK"),
    ("romanian leu", "RON"),
    ("moldovan leu", "MDL"),
    ("bulgarian lev", "BGN"),
    ("hryvnia", "UAH"),
    ("tenge", "KZT"),
    ("swiss franc", "CHF"),
    ("swiss francs", "CHF"),
    ("swedish krona", "SEK"),
    ("swedish kronor", "SEK"),
    ("norwegian krone", "NOK"),
    ("danish krone", "DKK"),
    ("icelandic krona", "ISK"),
    ("mexican peso", "MXN"),
    ("argentine peso", "ARS"),
    ("chilean peso", "CLP"),
    ("colombian peso", "COP"),
    ("philippine peso", "PHP"),
    ("uruguayan peso", "UYU"),
    ("dominican peso", "DOP"),
    ("cuban peso", "CUP"),
    ("saudi riyal", "SAR"),
    ("qatari riyal", "QAR"),
    ("omani rial", "OMR"),
    ("iranian rial", "IRR"),
    ("yemeni rial", "YER"),
    ("uae dirham", "AED"),
    ("emirati dirham", "AED"),
    ("moroccan dirham", "MAD"),
    ("kuwaiti dinar", "KWD"),
    ("bahraini dinar", "BHD"),
    ("jordanian dinar", "JOD"),
    ("iraqi dinar", "IQD"),
    ("tunisian dinar", "TND"),
    ("algerian dinar", "DZD"),
    ("libyan dinar", "LYD"),
    ("serbian dinar", "RSD"),
    ("israeli shekel", "ILS"),
    ("new israeli sheqel", "ILS"),
    ("shekel", "ILS"),
    ("shekels", "ILS"),
    ("georgian lari", "GEL"),
    ("lari", "GEL"),
    ("armenian dram", "AMD"),
    ("azerbaijani manat", "AZN"),
    ("tugrik", "MNT"),
    ("peruvian sol", "PEN"),
    ("nuevo sol", "PEN"),
    ("boliviano", "BOB"),
    ("bolivianos", "BOB"),
    ("guarani", "PYG"),
    ("costa rican colon", "CRC"),
    ("quetzal", "GTQ"),
    ("quetzales", "GTQ"),
    ("lempira", "HNL"),
    ("cordoba", "NIO"),
    ("venezuelan bolivar", "VES"),
    ("birr", "ETB"),
    ("rwandan franc", "RWF"),
    ("burundian franc", "BIF"),
    ("guinean franc", "GNF"),
    ("congolese franc", "CDF"),
    ("djiboutian franc", "DJF"),
    ("ariary", "MGA"),
    ("metical", "MZN"),
    ("kwanza", "AOA"),
    ("pula", "BWP"),
    ("loti", "LSL"),
    ("lilangeni", "SZL"),
    ("ouguiya", "MRU"),
    ("dalasi", "GMD"),
    ("leone", "SLE"),
    ("riel", "KHR"),
    ("kip", "LAK"),
    ("kyat", "MMK"),
    ("afghani", "AFN"),
    ("uzbekistani som", "UZS"),
    ("kyrgyzstani som", "KGS"),
    ("somoni", "TJS"),
    ("turkmenistan manat", "TMT"),
    ("denar", "MKD"),
    ("convertible mark", "BAM"),
    ("special drawing rights", "XDR"),
    ("sdr", "XDR"),
    ("sdrs", "XDR"),
    ("dollar", "USD"),
    ("dollars", "USD"),
];

/// Money without a named currency: the unit is a currency amount, the code comes from elsewhere.
const LOCAL_CURRENCY: &[&str] = &[
    "lcu",
    "local currency",
    "national currency",
    "domestic currency",
    "international $",
    "international dollar",
    "international dollars",
    "ppp $",
    "ppp dollars",
    "rupee",
    "rupees",
    "peso",
    "pesos",
    "franc",
    "francs",
    "dinar",
    "dinars",
    "dirham",
    "dirhams",
    "riyal",
    "riyals",
    "rial",
    "rials",
    "krona",
    "krone",
    "kronor",
    "shilling",
    "shillings",
    "kwacha",
    "manat",
    "currency",
];

/// Currency symbols read from the raw string.
const CURRENCY_SYMBOLS: &[(char, &str)] = &[
    ('€', "EUR"),
    ('£', "GBP"),
    ('¥', "JPY"),
    ('₹', "INR"),
    ('₦', "NGN"),
    ('₺', "TRY"),
    ('₽', "RUB"),
    ('₩', "KRW"),
];

/// What a units string says about money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CurrencyMention {
    /// The ISO code, when the string names one.
    pub code: Option<CurrencyCode>,
    /// The normalised phrase that was matched (used to mask it).
    pub phrase: String,
}

/// Finds a currency in a units string: ISO codes (word codes only in a currency position),
/// currency names, symbols, "$" (US dollar), and local-currency markers (no code).
pub(crate) fn currency_in_text(raw: &str) -> Option<CurrencyMention> {
    if let Some(m) = iso_code_in(raw) {
        return Some(m);
    }
    let text = Text::new(raw);
    for (c, code) in CURRENCY_SYMBOLS {
        if raw.contains(*c) {
            return Some(CurrencyMention {
                code: CurrencyCode::parse(code),
                phrase: String::new(),
            });
        }
    }
    // Local markers that contain "$" ("international $") must win over the bare dollar sign.
    for phrase in LOCAL_CURRENCY.iter().filter(|p| p.contains('$')) {
        if text.has(phrase) {
            return Some(CurrencyMention {
                code: None,
                phrase: (*phrase).to_string(),
            });
        }
    }
    for (phrase, code) in CURRENCY_NAMES {
        if text.has(phrase) {
            return Some(CurrencyMention {
                code: CurrencyCode::parse(code),
                phrase: (*phrase).to_string(),
            });
        }
    }
    if text.has("$") {
        return Some(CurrencyMention {
            code: CurrencyCode::parse("USD"),
            phrase: "$".into(),
        });
    }
    LOCAL_CURRENCY
        .iter()
        .find(|p| text.has(p))
        .map(|p| CurrencyMention {
            code: None,
            phrase: (*p).to_string(),
        })
}

/// Splits a raw string into alphanumeric tokens with the separator that precedes each.
fn tokens(raw: &str) -> Vec<(char, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut sep = ' ';
    let mut last_sep = ' ';
    for c in raw.chars() {
        if c.is_alphanumeric() {
            if current.is_empty() {
                sep = last_sep;
            }
            current.push(c);
        } else {
            if !current.is_empty() {
                out.push((sep, std::mem::take(&mut current)));
            }
            last_sep = if c == ' ' && last_sep == '/' { '/' } else { c };
        }
    }
    if !current.is_empty() {
        out.push((sep, current));
    }
    out
}

fn is_magnitude_or_number(word: &str) -> bool {
    let w = word.to_lowercase();
    w.chars().all(|c| c.is_ascii_digit())
        || SCALE_PHRASES
            .iter()
            .any(|(p, _, _)| !p.contains(' ') && *p == w)
}

/// An ISO code among the tokens of `raw`, honouring the English-word rule.
fn iso_code_in(raw: &str) -> Option<CurrencyMention> {
    let toks = tokens(raw);
    (0..toks.len()).find_map(|i| iso_code_at(&toks, i))
}

/// Token `i` as an ISO code, when it is one in a currency position.
fn iso_code_at(toks: &[(char, String)], i: usize) -> Option<CurrencyMention> {
    let (sep, tok) = &toks[i];
    if tok.chars().count() != 3 || !tok.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let code = CurrencyCode::parse(tok)?;
    let upper = tok.to_ascii_uppercase();
    if WORD_CODES.contains(&upper.as_str()) {
        let capitals = tok.chars().all(|c| c.is_ascii_uppercase());
        let prev = i.checked_sub(1).and_then(|j| toks.get(j));
        let next = toks.get(i + 1);
        let alone = toks.len() == 1;
        let by_magnitude = prev.is_some_and(|(_, w)| is_magnitude_or_number(w))
            || next.is_some_and(|(_, w)| is_magnitude_or_number(w));
        let in_pair = (*sep == '/' && prev.is_some_and(|(_, w)| CurrencyCode::parse(w).is_some()))
            || next.is_some_and(|(s, w)| *s == '/' && CurrencyCode::parse(w).is_some());
        let after_in_per = prev.is_some_and(|(_, w)| {
            let w = w.to_lowercase();
            w == "in" || w == "per"
        });
        if !(capitals && (alone || by_magnitude || in_pair || after_in_per)) {
            return None;
        }
    }
    Some(CurrencyMention {
        code: Some(code),
        phrase: tok.to_lowercase(),
    })
}

/// Units with every currency mention replaced by the word "currency" (normalised form), so the
/// same concept reads the same whatever the country's currency ("Current Turkish Lira" and
/// "current LCU" both become "current currency"; the pair "USD/TRY" becomes "currency currency");
/// unchanged when no currency is named.
pub(crate) fn mask_currency(raw: &str) -> String {
    if currency_in_text(raw).is_none() {
        return raw.to_string();
    }
    // ISO codes first, on the raw text, where capitals still tell codes from English words.
    // Token i of `tokens` is the i-th alphanumeric run of the raw text.
    let toks = tokens(raw);
    let mut masked = String::with_capacity(raw.len() + 8);
    let (mut index, mut run) = (0usize, String::new());
    for c in raw.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() {
            run.push(c);
            continue;
        }
        if !run.is_empty() {
            if iso_code_at(&toks, index).is_some() {
                masked.push_str("currency");
            } else {
                masked.push_str(&run);
            }
            index += 1;
            run.clear();
        }
        if CURRENCY_SYMBOLS.iter().any(|(sym, _)| *sym == c) {
            masked.push_str(" currency ");
        } else {
            masked.push(c);
        }
    }
    let mut s = format!(" {} ", Text::new(&masked).as_str());
    let phrases = CURRENCY_NAMES
        .iter()
        .map(|(p, _)| *p)
        .chain(LOCAL_CURRENCY.iter().copied())
        .filter(|p| *p != "currency");
    for phrase in phrases {
        let p = format!(" {} ", Text::new(phrase).as_str());
        while s.contains(&p) {
            s = s.replace(&p, " currency ");
        }
    }
    s = s.replace(" $ ", " currency ");
    super::text::squash_spaces(&s)
}

const PHYSICAL: &[&str] = &[
    "barrel",
    "barrels",
    "bbl",
    "tonnes",
    "tonne",
    "tons",
    "ton",
    "metric tons",
    "kt",
    "kilotonnes",
    "kg",
    "kilograms",
    "kilogram",
    "troy ounce",
    "troy ounces",
    "ounce",
    "ounces",
    "oz",
    "liter",
    "liters",
    "litre",
    "litres",
    "gallon",
    "gallons",
    "cubic meters",
    "cubic metres",
    "m3",
    "cubic feet",
    "bcf",
    "kwh",
    "mwh",
    "gwh",
    "twh",
    "kw",
    "mw",
    "gw",
    "terajoule",
    "terajoules",
    "tj",
    "petajoules",
    "btu",
    "mmbtu",
    "celsius",
    "fahrenheit",
    "degrees",
    "degree",
    "mm",
    "millimeters",
    "millimetres",
    "cm",
    "km",
    "kilometers",
    "kilometres",
    "hectares",
    "ha",
    "acres",
    "bushel",
    "bushels",
    "toe",
    "oil equivalent",
    "square meters",
    "square metres",
    "sq m",
    "dwt",
    "teu",
    "carats",
    "bags",
    "bales",
    "pounds",
    "watt",
    "watts",
    "kilowatt",
    "megawatt",
    "gigawatt",
    "terawatt",
    "joule",
    "joules",
    "gigajoule",
];

const COUNT_WORDS: &[&str] = &[
    "number",
    "persons",
    "people",
    "person",
    "units",
    "unit",
    "shares",
    "vehicles",
    "cars",
    "houses",
    "dwellings",
    "homes",
    "jobs",
    "workers",
    "employees",
    "visitors",
    "tourists",
    "arrivals",
    "passengers",
    "firms",
    "companies",
    "inhabitants",
    "individuals",
    "households",
    "contracts",
    "transactions",
    "cases",
    "births",
    "deaths",
    "count",
];

const DURATION_WORDS: &[&str] = &[
    "days", "day", "weeks", "week", "months", "month", "years", "year", "hours", "hour", "minutes",
    "quarters",
];

/// The kind of unit a units string names, given whether it names a currency.
pub(crate) fn unit_type_of(raw: &str, has_currency: bool) -> UnitType {
    let t = Text::new(raw);
    if t.is_empty() {
        return UnitType::Unknown;
    }
    if t.has_any(&[
        "%",
        "percent",
        "per cent",
        "percentage",
        "pct",
        "pp",
        "basis points",
        "bps",
        "bp",
    ]) {
        return UnitType::Percentage;
    }
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if t.has_any(&["index", "points", "pts", "score", "diffusion", "base year"])
        || compact.contains("=100")
    {
        return UnitType::Index;
    }
    if has_currency {
        return UnitType::CurrencyAmount;
    }
    if t.has_any(&[
        "ratio",
        "times",
        "x",
        "coefficient",
        "multiplier",
        "multiple",
        "of imports",
    ]) {
        return UnitType::Ratio;
    }
    if t.has_any(&[
        "per 1 000",
        "per 1000",
        "per 100 000",
        "per 100000",
        "per 100",
        "per 10 000",
        "per thousand",
        "per million",
        "per capita",
        "per woman",
        "per person",
    ]) {
        return UnitType::Rate;
    }
    if t.has_any(PHYSICAL) {
        return UnitType::Physical;
    }
    let first_duration = t
        .words()
        .enumerate()
        .find(|(_, w)| DURATION_WORDS.contains(w))
        .map(|(i, _)| i);
    if let Some(i) = first_duration {
        let words: Vec<&str> = t.words().collect();
        if i == 0 || words[i - 1] != "per" {
            return UnitType::Duration;
        }
    }
    if t.has_any(COUNT_WORDS) {
        return UnitType::Count;
    }
    // A bare magnitude ("Thousand", "Million") is a scaled plain number.
    let words = t.words().collect::<Vec<_>>();
    if !words.is_empty()
        && words
            .iter()
            .all(|w| is_magnitude_or_number(w) || *w == "of")
    {
        return UnitType::Count;
    }
    UnitType::Unknown
}

/// The denominator of a unit: the part after "per", after "% of", or after "/" ("USD/Liter").
/// Lower-case; "D" after a slash reads as "day".
pub(crate) fn denominator(raw: &str) -> Option<String> {
    let lower = raw.to_lowercase();
    let pick = |rest: &str| -> Option<String> {
        let rest = rest.split(['(', ')', ',', ';']).next().unwrap_or("");
        let words = Text::new(rest);
        let s = words.as_str().to_string();
        (!s.is_empty()).then_some(s)
    };
    if let Some(pos) = lower.find("% of ") {
        return pick(&lower[pos + 5..]);
    }
    for marker in [" per ", "percent of ", "percentage of "] {
        if let Some(pos) = lower.find(marker) {
            return pick(&lower[pos + marker.len()..]);
        }
    }
    if let Some(rest) = lower.strip_prefix("per ") {
        return pick(rest);
    }
    if let Some((left, right)) = lower.split_once('/') {
        let right = right.split('/').next().unwrap_or("").trim();
        // A currency pair ("usd/try") is not a denominator.
        if CurrencyCode::parse(left.trim()).is_some() && CurrencyCode::parse(right).is_some() {
            return None;
        }
        return match right {
            "d" | "day" => Some("day".into()),
            "y" | "yr" | "year" => Some("year".into()),
            "m" | "mo" | "month" => Some("month".into()),
            other => pick(other),
        };
    }
    None
}

/// The base period of an index written as "2010=100", "2010 = 100" or "(2015=100)".
pub(crate) fn index_base(raw: &str) -> Option<String> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let pos = compact.find("=100")?;
    let head = &compact[..pos];
    let digits: String = head
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (digits.len() == 4).then(|| format!("{digits}=100"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(raw: &str) -> Option<String> {
        currency_in_text(raw).and_then(|m| m.code.map(|c| c.as_str().to_string()))
    }

    #[test]
    fn scales_including_hundred_million_and_thousand_barrels() {
        assert_eq!(scale_in_text("USD Billion"), Some((Scale::Billions, 1)));
        assert_eq!(
            scale_in_text("CNY Hundred Million"),
            Some((Scale::Millions, 100))
        );
        assert_eq!(scale_in_text("BBL/D/1K"), Some((Scale::Thousands, 1)));
        assert_eq!(
            scale_in_text("thousands of units"),
            Some((Scale::Thousands, 1))
        );
        assert_eq!(scale_in_text("EUR Million"), Some((Scale::Millions, 1)));
        assert_eq!(scale_in_text("per 1,000 people"), None);
        assert_eq!(scale_in_text("per thousand people"), None);
        assert_eq!(scale_in_text("%"), None);
        assert_eq!(
            scale_from_column("Hundred Million"),
            Some((Scale::Millions, 100))
        );
        assert_eq!(scale_from_column("Units"), Some((Scale::Raw, 1)));
        assert_eq!(
            scale_from_column("Ten Thousand"),
            Some((Scale::Thousands, 10))
        );
    }

    #[test]
    fn currencies_from_codes_names_and_symbols() {
        assert_eq!(code("USD Billion"), Some("USD".into()));
        assert_eq!(code("AMT, current US$"), Some("USD".into()));
        assert_eq!(code("Current Turkish Lira"), Some("TRY".into()));
        assert_eq!(code("EUR Million"), Some("EUR".into()));
        assert_eq!(code("USD per barrel"), Some("USD".into()));
        assert_eq!(code("€ per litre"), Some("EUR".into()));
        assert!(currency_in_text("National currency").is_some_and(|m| m.code.is_none()));
        assert!(currency_in_text("current LCU").is_some_and(|m| m.code.is_none()));
        assert!(
            currency_in_text("constant 2017 international $").is_some_and(|m| m.code.is_none())
        );
    }

    #[test]
    fn english_word_codes_need_a_currency_position() {
        assert_eq!(code("ALL Million"), Some("ALL".into()));
        assert_eq!(code("TRY"), Some("TRY".into()));
        assert_eq!(code("USD/TRY"), Some("USD".into()));
        assert_eq!(code("Thousand TOP"), Some("TOP".into()));
        assert_eq!(currency_in_text("Top 10% of all earners"), None);
        assert_eq!(currency_in_text("ALL items"), None);
        assert_eq!(currency_in_text("cup of coffee"), None);
        assert_eq!(currency_in_text("try"), None);
        assert_eq!(currency_in_text("% of GDP"), None);
        assert_eq!(currency_in_text("Index, 2010=100"), None);
    }

    #[test]
    fn unit_types() {
        let ut = |raw: &str| unit_type_of(raw, currency_in_text(raw).is_some());
        assert_eq!(ut("Index, 2010=100"), UnitType::Index);
        assert_eq!(ut("Index (2015=100)"), UnitType::Index);
        assert_eq!(ut("points"), UnitType::Index);
        assert_eq!(ut("percentage points"), UnitType::Percentage);
        assert_eq!(ut("% of GDP"), UnitType::Percentage);
        assert_eq!(ut("Annual % growth"), UnitType::Percentage);
        assert_eq!(ut("BBL/D/1K"), UnitType::Physical);
        assert_eq!(ut("USD per troy ounce"), UnitType::CurrencyAmount);
        assert_eq!(ut("AMT, current US$"), UnitType::CurrencyAmount);
        assert_eq!(ut("months of imports"), UnitType::Ratio);
        assert_eq!(ut("weeks"), UnitType::Duration);
        assert_eq!(ut("thousands of persons"), UnitType::Count);
        assert_eq!(ut("Number"), UnitType::Count);
        assert_eq!(ut("Thousand"), UnitType::Count);
        assert_eq!(ut("per 1,000 people"), UnitType::Rate);
        assert_eq!(ut("celsius"), UnitType::Physical);
        assert_eq!(ut("Gigawatt-hour"), UnitType::Physical);
        assert_eq!(ut("ratio"), UnitType::Ratio);
        assert_eq!(ut(""), UnitType::Unknown);
        assert_eq!(ut("widgets galore"), UnitType::Unknown);
    }

    #[test]
    fn denominators_and_index_bases() {
        assert_eq!(denominator("% of GDP").as_deref(), Some("gdp"));
        assert_eq!(denominator("USD per barrel").as_deref(), Some("barrel"));
        assert_eq!(denominator("USD/Liter").as_deref(), Some("liter"));
        assert_eq!(denominator("BBL/D/1K").as_deref(), Some("day"));
        assert_eq!(denominator("USD/TRY"), None);
        assert_eq!(denominator("USD Billion"), None);
        assert_eq!(index_base("Index, 2010=100").as_deref(), Some("2010=100"));
        assert_eq!(
            index_base("Consumer price index (2010 = 100)").as_deref(),
            Some("2010=100")
        );
        assert_eq!(index_base("index"), None);
    }

    #[test]
    fn masking_makes_currencies_alike() {
        assert_eq!(mask_currency("Current Turkish Lira"), "current currency");
        assert_eq!(mask_currency("Current Kenyan Shilling"), "current currency");
        assert_eq!(mask_currency("current LCU"), "current currency");
        assert_eq!(mask_currency("USD Billion"), mask_currency("EUR Billion"));
        assert_eq!(mask_currency("% of GDP"), "% of GDP");
        assert_eq!(mask_currency("USD/TRY"), "currency currency");
        assert_eq!(mask_currency("LCU per US$"), "currency per currency");
        assert_eq!(mask_currency("€ per litre"), "currency per litre");
        assert_eq!(
            mask_currency("Top 10% of ALL, USD"),
            "top 10 % of all currency"
        );
    }
}
