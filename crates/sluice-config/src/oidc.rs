//! `[[oidc.providers]]`: the OpenID providers users log in with.
//!
//! The raw structs mirror the TOML; [`resolve`] checks them into [`OidcConfig`], naming file, line and key on any
//! error. The client secret is never written in the file in clear if the operator prefers not to: it may come from
//! `client_secret_file` or from the environment variable `SLUICE_OIDC_<NAME>_CLIENT_SECRET` (the provider name upper
//! cased, every character other than a letter or digit replaced by `_`), which wins over the file.
//!
//! A provider behind a private CA gets `ca_file`: the PEM certificates are read and checked at start-up (a missing,
//! unreadable or non-PEM file is an error naming the key), and trusted for that provider only, on top of the system's
//! trust store and the webpki roots.
//!
//! These are configuration types; the composition root turns them into `sluice_identity::oidc::ProviderConfig`.

use crate::error::ConfigError;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;
use serde::Deserialize;
use sluice_model::{Role, Secret};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// Default lifetime of the sluice session token issued at login.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Longest accepted session lifetime: a login must be repeated at least weekly.
pub const MAX_SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// `[oidc]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOidc {
    /// `[[oidc.providers]]`
    #[serde(default)]
    pub providers: Vec<RawProvider>,
}

/// One `[[oidc.providers]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    /// Name users pick (`sluice login --provider NAME`).
    pub name: Spanned<String>,
    /// Issuer URL, exactly as the provider's discovery document states it.
    pub issuer: Spanned<String>,
    /// sluice's client id at the provider.
    pub client_id: Spanned<String>,
    /// Client secret of a confidential client (prefer `client_secret_file` or the environment).
    pub client_secret: Option<Spanned<String>>,
    /// File holding the client secret (trailing newline ignored).
    pub client_secret_file: Option<Spanned<PathBuf>>,
    /// Scopes requested at login (`openid` is always added). Default: profile, email, groups.
    pub scopes: Option<Vec<String>>,
    /// Dotted path of the claim holding groups: `groups`, `roles`, `realm_access.roles`. Default: `groups`.
    pub groups_claim: Option<Spanned<String>>,
    /// When the groups claim is one string, the character joining the names (`,`, ` `, ...).
    pub groups_separator: Option<Spanned<String>>,
    /// Provider group → sluice groups.
    pub groups: Option<BTreeMap<String, Vec<String>>>,
    /// Provider group → sluice role (`admin`, `auditor`, `user`).
    pub roles: Option<BTreeMap<String, Spanned<String>>>,
    /// Whether provider groups without a `groups` entry become sluice groups of the same name. Default: true.
    pub keep_unmapped_groups: Option<bool>,
    /// Accept the provider's JWT access tokens as bearer tokens and native-client passwords. Default: false.
    pub allow_bearer: Option<bool>,
    /// The audience bearer access tokens must carry. Default: the client id.
    pub audience: Option<String>,
    /// Lifetime of the session token issued at login (`12h`, `30m`, `1d`). Default: 12h.
    pub session_ttl: Option<Spanned<String>>,
    /// Redirect URI of the web login (`https://sluice.example.com/auth/callback`), registered at the provider.
    /// Default: derived from the request's Host header.
    pub redirect_url: Option<Spanned<String>>,
    /// PEM file of the CA(s) that issued the provider's TLS certificate, when it is not in the system's trust store.
    pub ca_file: Option<Spanned<PathBuf>>,
}

/// The validated `[oidc]` section.
#[derive(Debug, Clone, Default)]
pub struct OidcConfig {
    /// The providers, in file order; the first is the default for `sluice login`.
    pub providers: Vec<OidcProvider>,
}

/// Where the groups are in a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupsClaim {
    /// Dotted path.
    pub path: String,
    /// Set when the claim is one string of joined names.
    pub separator: Option<char>,
}

/// One validated provider.
#[derive(Debug, Clone)]
pub struct OidcProvider {
    /// Name.
    pub name: String,
    /// Issuer URL.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret, if confidential.
    pub client_secret: Option<Secret<String>>,
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// Where the groups are.
    pub groups_claim: GroupsClaim,
    /// Provider group → sluice groups.
    pub groups: BTreeMap<String, Vec<String>>,
    /// Provider group → role.
    pub roles: BTreeMap<String, Role>,
    /// Keep unmapped provider groups under their own names.
    pub keep_unmapped_groups: bool,
    /// Accept provider access tokens as bearer credentials.
    pub allow_bearer: bool,
    /// Audience of bearer access tokens.
    pub audience: Option<String>,
    /// Lifetime of login session tokens.
    pub session_ttl: Duration,
    /// Web login redirect URI, when fixed by the operator.
    pub redirect_url: Option<String>,
    /// The provider's own CA certificates (DER, read from `ca_file` at start-up), with the file they came from.
    pub ca: Option<ProviderCa>,
}

/// The CA certificates of `ca_file`.
#[derive(Debug, Clone)]
pub struct ProviderCa {
    /// The file, for messages.
    pub path: PathBuf,
    /// Its certificates, at least one.
    pub certs: Vec<CertificateDer<'static>>,
}

/// Reads the PEM certificates of `path`; the message says exactly what is wrong.
fn read_ca_file(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{} is not a valid PEM file: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

/// The environment variable that may carry a provider's client secret.
pub fn secret_env_var(provider: &str) -> String {
    let upper: String = provider
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("SLUICE_OIDC_{upper}_CLIENT_SECRET")
}

/// Parses `12h`, `30m`, `1d`, `90s`, `1h30m`.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration; expected e.g. 12h, 30m, 1d or 1h30m");
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let value: u64 = number.parse().map_err(|_| bad())?;
        total = value
            .checked_mul(unit)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// How the resolver reports an error at a spanned value, and reads the environment.
pub(crate) trait Context {
    /// An error at `span` for `key`.
    fn invalid_at(&self, span: std::ops::Range<usize>, key: &str, message: String) -> ConfigError;
    /// An environment variable.
    fn env(&self, name: &str) -> Option<String>;
}

/// Checks the raw section.
pub(crate) fn resolve(raw: &RawOidc, cx: &dyn Context) -> Result<OidcConfig, ConfigError> {
    let mut names = BTreeSet::new();
    let mut issuers = BTreeSet::new();
    let mut providers = Vec::new();
    for (index, p) in raw.providers.iter().enumerate() {
        let key = |field: &str| format!("oidc.providers[{index}].{field}");
        let err = |span: std::ops::Range<usize>, field: &str, message: String| {
            cx.invalid_at(span, &key(field), message)
        };
        let name = p.name.get_ref().trim();
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return Err(err(
                p.name.span(),
                "name",
                "use 1 to 64 letters, digits, '-', '_' or '.'".into(),
            ));
        }
        if !names.insert(name.to_owned()) {
            return Err(err(
                p.name.span(),
                "name",
                format!("`{name}` is configured twice"),
            ));
        }
        let issuer = p.issuer.get_ref().trim();
        let local = issuer.starts_with("http://127.0.0.1")
            || issuer.starts_with("http://localhost")
            || issuer.starts_with("http://[::1]");
        if !(issuer.starts_with("https://") || local) || issuer.contains(char::is_whitespace) {
            return Err(err(
                p.issuer.span(),
                "issuer",
                "expected an https:// URL (http:// only on loopback)".into(),
            ));
        }
        if !issuers.insert(issuer.to_owned()) {
            return Err(err(
                p.issuer.span(),
                "issuer",
                "another provider has this issuer".into(),
            ));
        }
        let client_id = p.client_id.get_ref().trim();
        if client_id.is_empty() {
            return Err(err(p.client_id.span(), "client_id", "must not be empty".into()));
        }
        let client_secret = match (
            cx.env(&secret_env_var(name)),
            &p.client_secret,
            &p.client_secret_file,
        ) {
            (Some(secret), _, _) => Some(Secret::new(secret)),
            (None, Some(inline), Some(_)) => {
                return Err(err(
                    inline.span(),
                    "client_secret",
                    "give client_secret or client_secret_file, not both".into(),
                ))
            }
            (None, Some(inline), None) => Some(Secret::new(inline.get_ref().clone())),
            (None, None, Some(file)) => {
                let text = std::fs::read_to_string(file.get_ref()).map_err(|e| {
                    err(
                        file.span(),
                        "client_secret_file",
                        format!("cannot read {}: {e}", file.get_ref().display()),
                    )
                })?;
                Some(Secret::new(text.trim_end_matches(['\n', '\r']).to_owned()))
            }
            (None, None, None) => None,
        };
        let path = p
            .groups_claim
            .as_ref()
            .map_or_else(|| "groups".to_owned(), |c| c.get_ref().trim().to_owned());
        if path.is_empty() || path.split('.').any(str::is_empty) {
            let span = p.groups_claim.as_ref().map_or(0..0, Spanned::span);
            return Err(err(
                span,
                "groups_claim",
                "expected a claim name or a dotted path".into(),
            ));
        }
        let separator = match &p.groups_separator {
            None => None,
            Some(sep) => {
                let mut chars = sep.get_ref().chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some(c),
                    _ => {
                        return Err(err(
                            sep.span(),
                            "groups_separator",
                            "expected exactly one character".into(),
                        ))
                    }
                }
            }
        };
        let mut roles = BTreeMap::new();
        for (group, role) in p.roles.iter().flatten() {
            let parsed: Role = role.get_ref().parse().map_err(|_| {
                err(
                    role.span(),
                    "roles",
                    format!(
                        "`{}` is not a role; expected admin, auditor or user",
                        role.get_ref()
                    ),
                )
            })?;
            roles.insert(group.clone(), parsed);
        }
        let session_ttl = match &p.session_ttl {
            None => DEFAULT_SESSION_TTL,
            Some(text) => {
                let ttl = parse_ttl(text.get_ref()).map_err(|m| err(text.span(), "session_ttl", m))?;
                if ttl > MAX_SESSION_TTL {
                    return Err(err(text.span(), "session_ttl", "at most 7d".into()));
                }
                ttl
            }
        };
        let redirect_url = match &p.redirect_url {
            None => None,
            Some(url) if url.get_ref().starts_with("https://") || url.get_ref().starts_with("http://") => {
                Some(url.get_ref().clone())
            }
            Some(url) => {
                return Err(err(
                    url.span(),
                    "redirect_url",
                    "expected an http(s):// URL".into(),
                ))
            }
        };
        let ca = match &p.ca_file {
            None => None,
            Some(file) if !issuer.starts_with("https://") => {
                return Err(err(
                    file.span(),
                    "ca_file",
                    "only an https:// issuer uses a CA certificate".into(),
                ))
            }
            Some(file) => Some(ProviderCa {
                path: file.get_ref().clone(),
                certs: read_ca_file(file.get_ref()).map_err(|m| err(file.span(), "ca_file", m))?,
            }),
        };
        providers.push(OidcProvider {
            name: name.to_owned(),
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
            scopes: p
                .scopes
                .clone()
                .unwrap_or_else(|| ["profile", "email", "groups"].map(str::to_owned).to_vec()),
            groups_claim: GroupsClaim { path, separator },
            groups: p.groups.clone().unwrap_or_default(),
            roles,
            keep_unmapped_groups: p.keep_unmapped_groups.unwrap_or(true),
            allow_bearer: p.allow_bearer.unwrap_or(false),
            audience: p.audience.clone(),
            session_ttl,
            redirect_url,
            ca,
        });
    }
    Ok(OidcConfig { providers })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_refuse_garbage() {
        assert_eq!(parse_ttl("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_ttl("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_ttl("1d"), Ok(Duration::from_secs(86_400)));
        assert!(parse_ttl("12").is_err());
        assert!(parse_ttl("0h").is_err());
        assert!(parse_ttl("h").is_err());
        assert!(parse_ttl("5w").is_err());
    }

    #[test]
    fn secret_variables_are_named_after_the_provider() {
        assert_eq!(secret_env_var("corp-idp"), "SLUICE_OIDC_CORP_IDP_CLIENT_SECRET");
    }
}
