//! The `[ruleset.mask]` section of a policy and the mask plan a decision carries.
//!
//! The shape deliberately mirrors `sluice_mask::MaskConfig` (same keys, same style and detector names), so the
//! gateway can turn a [`MaskPlan`] into a masker configuration field by field. The policy crate keeps its own copy
//! to stay free of the masking engine's dependencies; a test in the gateway should keep the two in step.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a masked value is rendered (names as in `sluice_mask::MaskStyle`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskStyle {
    /// Keep the shape: `j****@*****.com`, `****-****-****-9012`.
    #[default]
    Partial,
    /// Replace the whole value with `[REDACTED]`.
    Redact,
    /// A keyed, stable token: equal inputs give equal tokens.
    Hash,
    /// Leave the value alone (switches a detector off, exempts a column).
    Keep,
}

/// Content detectors (names as in `sluice_mask::DetectorKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    CardNumber,
    Email,
    Phone,
    UsSsn,
    Iban,
    AwsAccessKeyId,
    AwsSecretKey,
    GithubToken,
    GitlabToken,
    SlackToken,
    StripeKey,
    Jwt,
    PemPrivateKey,
    UrlPassword,
    GenericSecret,
}

/// Masks every value of matching columns, whatever their content. First matching rule wins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnRule {
    /// Table name glob (`users`, `audit_*`, `*`).
    #[serde(default = "any_table")]
    pub table: String,
    /// Column name glob (`password`, `*_token`).
    pub column: String,
    /// How matching values are rendered.
    #[serde(default = "redact")]
    pub style: MaskStyle,
}

fn any_table() -> String {
    "*".to_owned()
}

fn redact() -> MaskStyle {
    MaskStyle::Redact
}

/// The mask section of one rule set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaskSection {
    /// Style for every detector not listed in `detectors`.
    pub default_style: MaskStyle,
    /// Per-detector style; `keep` switches a detector off.
    pub detectors: BTreeMap<Detector, MaskStyle>,
    /// Column rules, tried in order before content detection.
    pub columns: Vec<ColumnRule>,
    /// Mask columns whose names say what they hold (`email`, `ssn`, `password`, ...).
    pub name_heuristics: bool,
}

impl Default for MaskSection {
    fn default() -> Self {
        Self {
            default_style: MaskStyle::Partial,
            detectors: BTreeMap::new(),
            columns: Vec::new(),
            name_heuristics: true,
        }
    }
}

/// What to mask in the response to an allowed request: the mask sections of every rule set that applies, merged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskPlan {
    /// The merged configuration.
    pub mask: MaskSection,
    /// The rule sets it came from, for the recording and for explanations.
    pub from_rulesets: Vec<String>,
}

impl MaskPlan {
    /// Merges sections in rule-set order. Column rules are concatenated (so the first rule set's rules win),
    /// detector styles are taken from the first set that names them, the default style from the first set, and
    /// name heuristics are on if any set turns them on: merging never masks less than any one set would alone,
    /// except where an earlier set explicitly says `keep`.
    pub fn merge<'a>(sections: impl IntoIterator<Item = (&'a str, &'a MaskSection)>) -> Option<MaskPlan> {
        let mut plan: Option<MaskPlan> = None;
        for (ruleset, section) in sections {
            match plan.as_mut() {
                None => {
                    plan = Some(MaskPlan {
                        mask: section.clone(),
                        from_rulesets: vec![ruleset.to_owned()],
                    })
                }
                Some(plan) => {
                    plan.mask.columns.extend(section.columns.iter().cloned());
                    for (detector, style) in &section.detectors {
                        plan.mask.detectors.entry(*detector).or_insert(*style);
                    }
                    plan.mask.name_heuristics |= section.name_heuristics;
                    plan.from_rulesets.push(ruleset.to_owned());
                }
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_the_first_sets_column_rules_first_and_unions_detectors() {
        let first = MaskSection {
            columns: vec![ColumnRule {
                table: "*".into(),
                column: "password".into(),
                style: MaskStyle::Redact,
            }],
            detectors: BTreeMap::from([(Detector::Email, MaskStyle::Hash)]),
            name_heuristics: false,
            ..MaskSection::default()
        };
        let second = MaskSection {
            columns: vec![ColumnRule {
                table: "users".into(),
                column: "ssn".into(),
                style: MaskStyle::Partial,
            }],
            detectors: BTreeMap::from([
                (Detector::Email, MaskStyle::Keep),
                (Detector::Jwt, MaskStyle::Redact),
            ]),
            ..MaskSection::default()
        };
        let plan = MaskPlan::merge([("a", &first), ("b", &second)]).unwrap();
        assert_eq!(plan.mask.columns.len(), 2);
        assert_eq!(plan.mask.columns[0].column, "password");
        assert_eq!(plan.mask.detectors[&Detector::Email], MaskStyle::Hash);
        assert_eq!(plan.mask.detectors[&Detector::Jwt], MaskStyle::Redact);
        assert!(plan.mask.name_heuristics);
        assert_eq!(plan.from_rulesets, vec!["a", "b"]);
    }

    #[test]
    fn no_sections_means_no_plan() {
        assert!(MaskPlan::merge([]).is_none());
    }
}
