//! Country and economy names, used only to separate the country-specific part of an indicator's
//! name and description from the concept ("Population, total (Bangladesh)" → "Population, total").

/// Country, territory and economic-area names as World Bank, IMF and TradingEconomics write them.
const COUNTRIES: &[&str] = &[
    "Afghanistan",
    "Albania",
    "Algeria",
    "American Samoa",
    "Andorra",
    "Angola",
    "Antigua and Barbuda",
    "Argentina",
    "Armenia",
    "Aruba",
    "Australia",
    "Austria",
    "Azerbaijan",
    "Bahamas",
    "Bahamas, The",
    "Bahrain",
    "Bangladesh",
    "Barbados",
    "Belarus",
    "Belgium",
    "Belize",
    "Benin",
    "Bermuda",
    "Bhutan",
    "Bolivia",
    "Bosnia and Herzegovina",
    "Botswana",
    "Brazil",
    "Brunei",
    "Brunei Darussalam",
    "Bulgaria",
    "Burkina Faso",
    "Burundi",
    "Cabo Verde",
    "Cambodia",
    "Cameroon",
    "Canada",
    "Cape Verde",
    "Cayman Islands",
    "Central African Republic",
    "Chad",
    "Chile",
    "China",
    "Colombia",
    "Comoros",
    "Congo",
    "Congo, Dem. Rep.",
    "Congo, Rep.",
    "Costa Rica",
    "Cote d'Ivoire",
    "Côte d'Ivoire",
    "Croatia",
    "Cuba",
    "Curacao",
    "Cyprus",
    "Czech Republic",
    "Czechia",
    "Democratic Republic of the Congo",
    "Denmark",
    "Djibouti",
    "Dominica",
    "Dominican Republic",
    "East Timor",
    "Ecuador",
    "Egypt",
    "Egypt, Arab Rep.",
    "El Salvador",
    "Equatorial Guinea",
    "Eritrea",
    "Estonia",
    "Eswatini",
    "Ethiopia",
    "Euro Area",
    "European Union",
    "Fiji",
    "Finland",
    "France",
    "Gabon",
    "Gambia",
    "Gambia, The",
    "Georgia",
    "Germany",
    "Ghana",
    "Greece",
    "Greenland",
    "Grenada",
    "Guam",
    "Guatemala",
    "Guinea",
    "Guinea-Bissau",
    "Guinea Bissau",
    "Guyana",
    "Haiti",
    "Honduras",
    "Hong Kong",
    "Hong Kong SAR, China",
    "Hungary",
    "Iceland",
    "India",
    "Indonesia",
    "Iran",
    "Iran, Islamic Rep.",
    "Iraq",
    "Ireland",
    "Isle of Man",
    "Israel",
    "Italy",
    "Ivory Coast",
    "Jamaica",
    "Japan",
    "Jordan",
    "Kazakhstan",
    "Kenya",
    "Kiribati",
    "Korea",
    "Korea, Rep.",
    "Kosovo",
    "Kuwait",
    "Kyrgyz Republic",
    "Kyrgyzstan",
    "Lao PDR",
    "Laos",
    "Latvia",
    "Lebanon",
    "Lesotho",
    "Liberia",
    "Libya",
    "Liechtenstein",
    "Lithuania",
    "Luxembourg",
    "Macao",
    "Macau",
    "Madagascar",
    "Malawi",
    "Malaysia",
    "Maldives",
    "Mali",
    "Malta",
    "Marshall Islands",
    "Mauritania",
    "Mauritius",
    "Mexico",
    "Micronesia",
    "Moldova",
    "Monaco",
    "Mongolia",
    "Montenegro",
    "Morocco",
    "Mozambique",
    "Myanmar",
    "Namibia",
    "Nauru",
    "Nepal",
    "Netherlands",
    "New Caledonia",
    "New Zealand",
    "Nicaragua",
    "Niger",
    "Nigeria",
    "North Korea",
    "North Macedonia",
    "Macedonia",
    "Norway",
    "Oman",
    "Pakistan",
    "Palau",
    "Palestine",
    "Panama",
    "Papua New Guinea",
    "Paraguay",
    "Peru",
    "Philippines",
    "Poland",
    "Portugal",
    "Puerto Rico",
    "Qatar",
    "Romania",
    "Russia",
    "Russian Federation",
    "Rwanda",
    "Samoa",
    "San Marino",
    "Sao Tome and Principe",
    "Saudi Arabia",
    "Senegal",
    "Serbia",
    "Seychelles",
    "Sierra Leone",
    "Singapore",
    "Slovak Republic",
    "Slovakia",
    "Slovenia",
    "Solomon Islands",
    "Somalia",
    "South Africa",
    "South Korea",
    "South Sudan",
    "Spain",
    "Sri Lanka",
    "St. Kitts and Nevis",
    "St. Lucia",
    "St. Vincent and the Grenadines",
    "Sudan",
    "Suriname",
    "Swaziland",
    "Sweden",
    "Switzerland",
    "Syria",
    "Syrian Arab Republic",
    "Taiwan",
    "Tajikistan",
    "Tanzania",
    "Thailand",
    "Timor-Leste",
    "Togo",
    "Tonga",
    "Trinidad and Tobago",
    "Tunisia",
    "Turkey",
    "Turkiye",
    "Türkiye",
    "Turkmenistan",
    "Tuvalu",
    "Uganda",
    "Ukraine",
    "United Arab Emirates",
    "United Kingdom",
    "United States",
    "United States of America",
    "Uruguay",
    "Uzbekistan",
    "Vanuatu",
    "Venezuela",
    "Venezuela, RB",
    "Vietnam",
    "Viet Nam",
    "Yemen",
    "Yemen, Rep.",
    "Zambia",
    "Zimbabwe",
    "USA",
    "UK",
    "UAE",
];

/// The country name `s` stands for, if it is exactly one (case-insensitive, trimmed).
pub(crate) fn as_country(s: &str) -> Option<&'static str> {
    let t = s.trim();
    COUNTRIES
        .iter()
        .copied()
        .find(|c| c.eq_ignore_ascii_case(t))
}

/// Splits a country mention off an indicator name: a parenthesised country anywhere
/// ("Population, total (Bangladesh)"), a trailing ", Country" or " - Country", or a leading
/// "Country " prefix. Returns the cleaned name and the country found.
pub(crate) fn split_country(name: &str) -> (String, Option<String>) {
    let name = name.trim();
    // Parenthesised country anywhere.
    let mut search_from = 0;
    while let Some(open_rel) = name[search_from..].find('(') {
        let open = search_from + open_rel;
        let Some(close_rel) = name[open..].find(')') else {
            break;
        };
        let close = open + close_rel;
        if let Some(country) = as_country(&name[open + 1..close]) {
            let cleaned = format!("{} {}", &name[..open], &name[close + 1..]);
            return (tidy(&cleaned), Some(country.to_string()));
        }
        search_from = close + 1;
    }
    // Trailing ", Country" or " - Country".
    for sep in [" - ", ", ", " – "] {
        if let Some(pos) = name.rfind(sep)
            && let Some(country) = as_country(&name[pos + sep.len()..])
        {
            return (tidy(&name[..pos]), Some(country.to_string()));
        }
    }
    // Leading "Country " prefix (longest match first, so "South Africa" beats "South").
    let mut best: Option<&'static str> = None;
    for c in COUNTRIES {
        let n = c.len();
        if name.len() > n + 1
            && name.is_char_boundary(n)
            && name[..n].eq_ignore_ascii_case(c)
            && name[n..].starts_with(' ')
            && best.is_none_or(|b| b.len() < n)
        {
            best = Some(c);
        }
    }
    if let Some(c) = best {
        return (tidy(&name[c.len()..]), Some(c.to_string()));
    }
    (tidy(name), None)
}

/// Replaces whole-word country names in free text with "the country" (descriptions often say
/// "In Bangladesh, …"), so the same concept reads the same for every country.
pub(crate) fn mask_countries(text: &str) -> String {
    // Longest names first so that "Congo, Dem. Rep." is replaced before "Congo"; sorted once.
    static NAMES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        let mut names: Vec<&str> = COUNTRIES.iter().copied().filter(|c| c.len() > 3).collect();
        names.sort_by_key(|c| std::cmp::Reverse(c.len()));
        names
    });
    let mut out = text.to_string();
    for c in NAMES.iter() {
        if out.contains(c) {
            out = replace_word(&out, c, "the country");
        }
    }
    out
}

fn replace_word(text: &str, word: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(word) {
        let before_ok = rest[..pos]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let after = &rest[pos + word.len()..];
        let after_ok = after.chars().next().is_none_or(|c| !c.is_alphanumeric());
        out.push_str(&rest[..pos]);
        if before_ok && after_ok {
            out.push_str(with);
        } else {
            out.push_str(word);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

fn tidy(s: &str) -> String {
    let squashed = super::text::squash_spaces(s);
    squashed
        .trim_end_matches([',', '-', '–', ':', ' '])
        .trim_start_matches([',', '-', '–', ':', ' '])
        .replace(" ,", ",")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_parenthesised_country_but_keeps_unit_parentheses() {
        assert_eq!(
            split_country("Population, total (Bangladesh)"),
            (
                "Population, total".to_string(),
                Some("Bangladesh".to_string())
            )
        );
        assert_eq!(
            split_country("Tax revenue (current LCU)"),
            ("Tax revenue (current LCU)".to_string(), None)
        );
        assert_eq!(
            split_country("Price Elasticity of Demand (Gasoline)").1,
            None
        );
    }

    #[test]
    fn strips_prefix_and_suffix_forms() {
        assert_eq!(
            split_country("South Africa GDP Growth Rate").0,
            "GDP Growth Rate"
        );
        assert_eq!(split_country("Interest Rate - Kenya").0, "Interest Rate");
        assert_eq!(split_country("Imports of goods, World (CIF)").1, None);
    }

    #[test]
    fn masks_countries_in_descriptions() {
        assert_eq!(
            mask_countries("In Bangladesh, the rate rose. Bangladeshi data."),
            "In the country, the rate rose. Bangladeshi data."
        );
    }
}
