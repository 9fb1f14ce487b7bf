//! `[approvals]` and `[recording]`: checked into [`ApprovalsConfig`] and [`RecordingConfig`], naming file, line and
//! key on any error.
//!
//! A webhook's signing secret may be written in the file (`secret`), kept in a file of its own (`secret_file`), or
//! passed as `SLUICE_WEBHOOK_<NAME>_SECRET` (the name upper cased, `-` replaced by `_`), which wins over both.
//! Errors never echo a secret or a webhook URL (a Slack URL is itself a credential).

use crate::error::ConfigError;
use crate::oidc::{parse_ttl, Context};
use crate::raw::{RawApprovals, RawRecording};
use crate::{ApprovalsConfig, RecordingConfig, WebhookConfig, WebhookFormat, WebhookScope, WEBHOOK_EVENTS};
use sluice_model::Secret;
use std::collections::BTreeSet;
use std::time::Duration;
use toml::Spanned;

/// Longest accepted hold: a client connection waits that long for a decision.
const MAX_HOLD_TIMEOUT: Duration = Duration::from_secs(3600);
/// Longest accepted grant window and access request lifetime.
const MAX_WINDOW: Duration = Duration::from_secs(30 * 86_400);
/// Longest accepted webhook name.
const MAX_NAME_LEN: usize = 64;

/// The environment variable that may carry a webhook's signing secret.
pub(crate) fn secret_env_var(name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| if c == '-' { '_' } else { c.to_ascii_uppercase() })
        .collect();
    format!("SLUICE_WEBHOOK_{upper}_SECRET")
}

/// The URL with only its scheme and host shown: user info, path, query and fragment may carry credentials.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "[redacted]".to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.rsplit_once('@') {
        Some((_, host)) => format!("[redacted]@{host}"),
        None => authority.to_owned(),
    };
    let tail = if tail.is_empty() || tail == "/" {
        tail
    } else {
        "/[redacted]"
    };
    format!("{scheme}://{host}{tail}")
}

/// Whether `url` is an `http://` or `https://` URL with a host and no whitespace.
fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    !host.is_empty() && !host.starts_with(':') && !url.contains(char::is_whitespace)
}

fn duration(
    value: Option<&Spanned<String>>,
    key: &str,
    default: Duration,
    max: (Duration, &str),
    cx: &dyn Context,
) -> Result<Duration, ConfigError> {
    let Some(text) = value else {
        return Ok(default);
    };
    let parsed = parse_ttl(text.get_ref()).map_err(|m| cx.invalid_at(text.span(), key, m))?;
    if parsed > max.0 {
        return Err(cx.invalid_at(text.span(), key, format!("at most {}", max.1)));
    }
    Ok(parsed)
}

/// Checks `[approvals]`.
pub(crate) fn resolve(raw: &RawApprovals, cx: &dyn Context) -> Result<ApprovalsConfig, ConfigError> {
    let defaults = ApprovalsConfig::default();
    let hold_timeout = duration(
        raw.hold_timeout.as_ref(),
        "approvals.hold_timeout",
        defaults.hold_timeout,
        (MAX_HOLD_TIMEOUT, "1h"),
        cx,
    )?;
    let grant_window = duration(
        raw.grant_window.as_ref(),
        "approvals.grant_window",
        defaults.grant_window,
        (MAX_WINDOW, "30d"),
        cx,
    )?;
    let access_request_ttl = duration(
        raw.access_request_ttl.as_ref(),
        "approvals.access_request_ttl",
        defaults.access_request_ttl,
        (MAX_WINDOW, "30d"),
        cx,
    )?;
    let mut access_approver_groups: Vec<String> = Vec::new();
    for group in raw.access_approver_groups.iter().flatten() {
        let key = "approvals.access_approver_groups";
        let name = group.get_ref().trim();
        if name.is_empty() {
            return Err(cx.invalid_at(group.span(), key, "a group name must not be empty".into()));
        }
        if access_approver_groups.iter().any(|g| g == name) {
            return Err(cx.invalid_at(group.span(), key, format!("`{name}` is listed twice")));
        }
        access_approver_groups.push(name.to_owned());
    }
    let public_url = match &raw.public_url {
        None => None,
        Some(url) if is_http_url(url.get_ref().trim()) => {
            Some(url.get_ref().trim().trim_end_matches('/').to_owned())
        }
        Some(url) => {
            return Err(cx.invalid_at(
                url.span(),
                "approvals.public_url",
                "expected an http:// or https:// URL such as https://sluice.example.com".into(),
            ))
        }
    };
    let mut names = BTreeSet::new();
    let mut webhooks = Vec::new();
    for (index, hook) in raw.webhooks.iter().enumerate() {
        let key = |field: &str| format!("approvals.webhooks[{index}].{field}");
        let err = |span: std::ops::Range<usize>, field: &str, message: String| {
            cx.invalid_at(span, &key(field), message)
        };
        let name = hook.name.get_ref().as_str();
        let name_ok = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
        if !name_ok {
            return Err(err(
                hook.name.span(),
                "name",
                format!("use 1 to {MAX_NAME_LEN} letters, digits, '-' or '_'"),
            ));
        }
        if !names.insert(name.to_owned()) {
            return Err(err(
                hook.name.span(),
                "name",
                format!("`{name}` is configured twice"),
            ));
        }
        let url = hook.url.get_ref().trim();
        if !is_http_url(url) {
            return Err(err(
                hook.url.span(),
                "url",
                "expected an http:// or https:// URL".into(),
            ));
        }
        let env_var = secret_env_var(name);
        let secret = match (cx.env(&env_var), &hook.secret, &hook.secret_file) {
            (Some(secret), _, _) => secret,
            (None, Some(inline), Some(_)) => {
                return Err(err(
                    inline.span(),
                    "secret",
                    "give secret or secret_file, not both".into(),
                ))
            }
            (None, Some(inline), None) => {
                if inline.get_ref().is_empty() {
                    return Err(err(inline.span(), "secret", "must not be empty".into()));
                }
                inline.get_ref().clone()
            }
            (None, None, Some(file)) => {
                let text = std::fs::read_to_string(file.get_ref()).map_err(|e| {
                    err(
                        file.span(),
                        "secret_file",
                        format!("cannot read {}: {e}", file.get_ref().display()),
                    )
                })?;
                let secret = text.trim_end_matches(['\n', '\r']).to_owned();
                if secret.is_empty() {
                    return Err(err(
                        file.span(),
                        "secret_file",
                        format!("{} is empty", file.get_ref().display()),
                    ));
                }
                secret
            }
            (None, None, None) => {
                return Err(err(
                    hook.name.span(),
                    "secret",
                    format!("webhook `{name}` has no signing secret; set secret_file, or {env_var}"),
                ))
            }
        };
        let format = match &hook.format {
            None => WebhookFormat::Json,
            Some(f) => match f.get_ref().as_str() {
                "json" => WebhookFormat::Json,
                "slack" => WebhookFormat::Slack,
                other => {
                    return Err(err(
                        f.span(),
                        "format",
                        format!("`{other}` is not a webhook format; expected json or slack"),
                    ))
                }
            },
        };
        let mut events: Vec<String> = Vec::new();
        for event in hook.events.iter().flatten() {
            let name = event.get_ref().as_str();
            if !WEBHOOK_EVENTS.contains(&name) {
                return Err(err(
                    event.span(),
                    "events",
                    format!(
                        "`{name}` is not an event; expected one of {}",
                        WEBHOOK_EVENTS.join(", ")
                    ),
                ));
            }
            if events.iter().any(|e| e == name) {
                return Err(err(event.span(), "events", format!("`{name}` is listed twice")));
            }
            events.push(name.to_owned());
        }
        let scope = match &hook.scope {
            None => WebhookScope::Global,
            Some(s) => match s.get_ref().as_str() {
                "global" => WebhookScope::Global,
                "policy" => WebhookScope::Policy,
                other => {
                    return Err(err(
                        s.span(),
                        "scope",
                        format!(
                            "`{other}` is not a webhook scope; expected global (every event) or policy (events of \
                             policies that name it in `notify`)"
                        ),
                    ))
                }
            },
        };
        webhooks.push(WebhookConfig {
            name: name.to_owned(),
            url: url.to_owned(),
            secret: Secret::new(secret),
            format,
            events,
            scope,
        });
    }
    Ok(ApprovalsConfig {
        hold_timeout,
        grant_window,
        admins_may_approve: raw.admins_may_approve.unwrap_or(defaults.admins_may_approve),
        access_approver_groups,
        access_request_ttl,
        public_url,
        webhooks,
    })
}

/// Checks `[recording]`.
pub(crate) fn resolve_recording(
    raw: &RawRecording,
    cx: &dyn Context,
) -> Result<RecordingConfig, ConfigError> {
    let row_cap = match &raw.row_cap {
        None => crate::DEFAULT_RECORDING_ROW_CAP,
        Some(v) => u64::try_from(*v.get_ref())
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                cx.invalid_at(
                    v.span(),
                    "recording.row_cap",
                    format!(
                        "{} is out of range; expected a positive number of rows",
                        v.get_ref()
                    ),
                )
            })?,
    };
    let sync_interval = match &raw.sync {
        None => RecordingConfig::default().sync_interval,
        Some(text) if text.get_ref() == "always" => None,
        Some(text) => {
            let every = parse_ttl(text.get_ref()).map_err(|m| {
                cx.invalid_at(
                    text.span(),
                    "recording.sync",
                    format!("{m}; or \"always\" to sync before every response"),
                )
            })?;
            if every > Duration::from_secs(60) {
                return Err(cx.invalid_at(text.span(), "recording.sync", "at most 60s".to_owned()));
            }
            Some(every)
        }
    };
    Ok(RecordingConfig {
        row_cap,
        sync_interval,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_variables_are_named_after_the_webhook() {
        assert_eq!(secret_env_var("ops-slack_2"), "SLUICE_WEBHOOK_OPS_SLACK_2_SECRET");
    }

    #[test]
    fn urls_are_redacted_to_scheme_and_host() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T0/B0/XyZsecret"),
            "https://hooks.slack.com/[redacted]"
        );
        assert_eq!(
            redact_url("https://user:pw@example.com:8443/x?token=abc"),
            "https://[redacted]@example.com:8443/[redacted]"
        );
        assert_eq!(
            redact_url("https://example.com?k=v"),
            "https://example.com/[redacted]"
        );
        assert_eq!(redact_url("https://example.com/"), "https://example.com/");
        assert_eq!(redact_url("not a url"), "[redacted]");
    }

    #[test]
    fn http_urls_need_a_scheme_and_a_host() {
        assert!(is_http_url("https://hooks.example.com/sluice"));
        assert!(is_http_url("http://127.0.0.1:9000"));
        assert!(!is_http_url("ftp://example.com"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("https:///path"));
        assert!(!is_http_url("https://a b.example.com"));
        assert!(!is_http_url("hooks.example.com"));
    }
}
