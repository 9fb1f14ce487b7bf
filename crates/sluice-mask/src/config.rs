//! The operator-facing masking configuration: what to detect, which columns to mask, and how masked values look.
//!
//! These types are embedded by the policy engine (the `[mask]` section of a policy file) and deserialized with
//! `deny_unknown_fields`, so a typo in a policy file is an error instead of a silently ignored rule. They are plain
//! data; [`crate::Masker::new`] validates and compiles them.
//!
//! ```toml
//! [mask]
//! default_style = "partial"
//! name_heuristics = true
//!
//! [mask.detectors]
//! email = "hash"          # joins by eye still work
//! phone = "keep"          # this team needs phone numbers
//!
//! [[mask.columns]]
//! table = "*"
//! column = "password*"
//! style = "redact"
//!
//! [[mask.columns]]
//! table = "users"
//! column = "ssn"
//! style = "partial"
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A kind of sensitive value that can be recognised in free text.
///
/// Every detector validates beyond its shape (checksums, brand ranges, decodable headers, labels), because a
/// masking layer that mangles order ids and UUIDs gets switched off by the people it is meant to protect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorKind {
    /// Payment card numbers: known brand prefixes and lengths, Luhn checksum, plain or in consistent groups,
    /// standing as a token of their own (digits glued to letters, as in hex ids and hashes, are not read as one).
    CardNumber,
    /// E-mail addresses with a dotted domain and an alphabetic top-level domain.
    Email,
    /// Phone numbers in E.164 (`+44 20 7946 0958`) and common national formats (`(415) 555-2671`).
    Phone,
    /// US social security numbers outside the never-issued ranges; undashed only after an `ssn` label.
    UsSsn,
    /// International bank account numbers: per-country length and the mod-97 check.
    Iban,
    /// AWS access key ids (`AKIA…`, `ASIA…`).
    AwsAccessKeyId,
    /// AWS secret access keys: 40 base64 characters after an AWS secret label.
    AwsSecretKey,
    /// GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`).
    GithubToken,
    /// GitLab tokens (`glpat-`, `glrt-`, `gldt-`).
    GitlabToken,
    /// Slack tokens (`xoxb-`, `xoxp-`, `xapp-`, …) and incoming-webhook URLs.
    SlackToken,
    /// Stripe secret and restricted keys (`sk_live_`, `rk_live_`, `sk_test_`, `rk_test_`).
    StripeKey,
    /// JSON Web Tokens whose header decodes to a JSON object naming an `alg`.
    Jwt,
    /// PEM private key blocks, including multi-line ones split across stream chunks.
    PemPrivateKey,
    /// The password part of `scheme://user:password@host` URLs and DSNs.
    UrlPassword,
    /// Values after secret-looking keys: `password=`, `"api_key": "…"`, `Authorization: Bearer …`.
    GenericSecret,
}

impl DetectorKind {
    /// Every detector kind, in declaration order.
    pub const ALL: [DetectorKind; 15] = [
        DetectorKind::CardNumber,
        DetectorKind::Email,
        DetectorKind::Phone,
        DetectorKind::UsSsn,
        DetectorKind::Iban,
        DetectorKind::AwsAccessKeyId,
        DetectorKind::AwsSecretKey,
        DetectorKind::GithubToken,
        DetectorKind::GitlabToken,
        DetectorKind::SlackToken,
        DetectorKind::StripeKey,
        DetectorKind::Jwt,
        DetectorKind::PemPrivateKey,
        DetectorKind::UrlPassword,
        DetectorKind::GenericSecret,
    ];

    /// The name used in policy files (`card_number`, `aws_secret_key`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DetectorKind::CardNumber => "card_number",
            DetectorKind::Email => "email",
            DetectorKind::Phone => "phone",
            DetectorKind::UsSsn => "us_ssn",
            DetectorKind::Iban => "iban",
            DetectorKind::AwsAccessKeyId => "aws_access_key_id",
            DetectorKind::AwsSecretKey => "aws_secret_key",
            DetectorKind::GithubToken => "github_token",
            DetectorKind::GitlabToken => "gitlab_token",
            DetectorKind::SlackToken => "slack_token",
            DetectorKind::StripeKey => "stripe_key",
            DetectorKind::Jwt => "jwt",
            DetectorKind::PemPrivateKey => "pem_private_key",
            DetectorKind::UrlPassword => "url_password",
            DetectorKind::GenericSecret => "generic_secret",
        }
    }

    /// Whether this kind is a credential (as opposed to personal data). Partial masking of a credential keeps at
    /// most its public prefix; partial masking of personal data keeps a little of its shape.
    pub fn is_credential(self) -> bool {
        !matches!(
            self,
            DetectorKind::CardNumber
                | DetectorKind::Email
                | DetectorKind::Phone
                | DetectorKind::UsSsn
                | DetectorKind::Iban
        )
    }
}

/// How a masked value is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskStyle {
    /// Keep the shape so people can still debug: `j****@*****.com`, `****-****-****-9012`, `***-**-6789`,
    /// `+** ** **** **58`, `AKIA********`. Credentials keep at most their public prefix; values that are not
    /// recognisable as one detector kind become `********`.
    #[default]
    Partial,
    /// Replace the whole value with `[REDACTED]` (its length is not revealed). Exception: PEM key bodies are
    /// starred byte for byte in every style, because they are masked line by line as they stream past.
    Redact,
    /// Replace the value with a keyed, stable token (`tok_3f9a12bc04e1`): HMAC-SHA256 under the gateway's key,
    /// truncated. Equal inputs give equal tokens, so joins by eye still work; the key keeps dictionary attacks out.
    Hash,
    /// Leave the value as it is. On a detector this switches the detector off; on a column rule it exempts the
    /// column from all masking, including content detection.
    Keep,
}

/// Masks every value of matching columns, whatever their content.
///
/// Globs are matched ASCII-case-insensitively against the table and column names reported by the target; `*`
/// matches any run of characters and `?` exactly one. Rules are tried in order and the first match wins, so list
/// exemptions (`style = "keep"`) before broader rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnRule {
    /// Table name glob (`users`, `audit_*`, `*`). A value whose table is unknown (JSON keys, computed columns)
    /// only matches `*`.
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

/// The `[mask]` section of a policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaskConfig {
    /// Style for every detector kind not listed in `detectors`.
    pub default_style: MaskStyle,
    /// Per-kind style overrides; `keep` switches a detector off.
    pub detectors: BTreeMap<DetectorKind, MaskStyle>,
    /// Column rules, tried in order before content detection.
    pub columns: Vec<ColumnRule>,
    /// Mask columns whose names say what they hold (`email`, `card_number`, `cc_num`, `ssn`, `password`,
    /// `api_key`, `iban`, `phone`, ...) with that kind's style, independent of content.
    pub name_heuristics: bool,
}

impl Default for MaskConfig {
    fn default() -> Self {
        MaskConfig {
            default_style: MaskStyle::Partial,
            detectors: BTreeMap::new(),
            columns: Vec::new(),
            name_heuristics: true,
        }
    }
}

impl MaskConfig {
    /// The style that applies to findings of `kind`.
    pub fn style_for(&self, kind: DetectorKind) -> MaskStyle {
        self.detectors.get(&kind).copied().unwrap_or(self.default_style)
    }

    /// Whether any part of this configuration renders keyed hashes (and so needs a hash key).
    pub fn uses_hash(&self) -> bool {
        self.default_style == MaskStyle::Hash
            || self.detectors.values().any(|s| *s == MaskStyle::Hash)
            || self.columns.iter().any(|r| r.style == MaskStyle::Hash)
    }
}
