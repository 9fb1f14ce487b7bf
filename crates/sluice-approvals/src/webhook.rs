//! Outgoing webhooks, the pure part: event payloads, the Slack-compatible format, signatures and the retry
//! schedule. Sending lives in `delivery`.
//!
//! Signature: `X-Sluice-Timestamp: <unix seconds>` and `X-Sluice-Signature: v1=<hex HMAC-SHA256(secret,
//! "<timestamp>.<body>")>`. Binding the timestamp into the MAC lets a receiver reject replays older than a few
//! minutes ([`verify`]) without keeping state.

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;

/// Header carrying the signing time.
pub const TIMESTAMP_HEADER: &str = "X-Sluice-Timestamp";
/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Sluice-Signature";
/// Header naming the event.
pub const EVENT_HEADER: &str = "X-Sluice-Event";

/// The events sluice announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// A statement is held for review.
    #[serde(rename = "review.created")]
    ReviewCreated,
    /// A review was approved, denied, cancelled or expired.
    #[serde(rename = "review.decided")]
    ReviewDecided,
    /// Temporary access was requested.
    #[serde(rename = "access.requested")]
    AccessRequested,
    /// An access request was decided.
    #[serde(rename = "access.decided")]
    AccessDecided,
    /// A session started.
    #[serde(rename = "session.opened")]
    SessionOpened,
    /// A session ended.
    #[serde(rename = "session.closed")]
    SessionClosed,
}

impl EventKind {
    /// The event's name in payloads and headers.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ReviewCreated => "review.created",
            EventKind::ReviewDecided => "review.decided",
            EventKind::AccessRequested => "access.requested",
            EventKind::AccessDecided => "access.decided",
            EventKind::SessionOpened => "session.opened",
            EventKind::SessionClosed => "session.closed",
        }
    }
}

/// Which body a receiver gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PayloadFormat {
    /// `{"event", "id", "at", "data"}`.
    #[default]
    Json,
    /// A Slack incoming-webhook message (`{"text", "blocks"}`) with approve/deny links.
    Slack,
}

/// Which events a receiver gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookScope {
    /// Every event (of its `events`).
    #[default]
    Global,
    /// Only the reviews and access requests the active policy routes to it by name (`notify`).
    Policy,
}

/// One configured receiver.
#[derive(Clone, Deserialize)]
pub struct WebhookTarget {
    /// Its name in the configuration; policies name it in `notify`.
    #[serde(default)]
    pub name: String,
    /// Which events it gets.
    #[serde(default)]
    pub scope: WebhookScope,
    /// Where to POST.
    pub url: String,
    /// HMAC key. Never logged.
    pub secret: String,
    /// Body format.
    #[serde(default)]
    pub format: PayloadFormat,
    /// Only these events (empty: all).
    #[serde(default)]
    pub events: Vec<EventKind>,
}

impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("name", &self.name)
            .field("scope", &self.scope)
            .field("url", &redact_url(&self.url))
            .field("format", &self.format)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl WebhookTarget {
    /// Whether this receiver wants `kind`.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.events.is_empty() || self.events.contains(&kind)
    }

    /// Whether this receiver gets `event`: one of its events, and global or named by the policy for it.
    pub fn gets(&self, event: &Event) -> bool {
        self.wants(event.kind)
            && match self.scope {
                WebhookScope::Global => true,
                WebhookScope::Policy => event.routes.contains(&self.name),
            }
    }
}

/// Which webhooks the active policy names (`notify`) for an event, besides the global ones. The gateway implements
/// it over its live policy; without one, only global webhooks are told anything.
pub trait WebhookRoutes: Send + Sync + fmt::Debug {
    /// The webhooks named for reviews under rule `rule` on connection `connection`.
    fn review(&self, connection: &str, rule: &str) -> Vec<String>;
    /// The webhooks named for access requests to connection `connection`.
    fn access(&self, connection: &str) -> Vec<String>;
}

/// An event to announce: its kind, what it is about (review, request or session id) and its data.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Which event.
    pub kind: EventKind,
    /// The review, access request or session id.
    pub subject: String,
    /// Unix seconds when it happened.
    pub at: i64,
    /// Event-specific fields.
    pub data: Value,
    /// Webhooks of scope `policy` the policy names for this event (not part of any payload).
    pub routes: Vec<String>,
}

/// The JSON body for `event` in `format`. `api_base` (`https://sluice.example.com`) makes Slack links absolute.
pub fn payload(event: &Event, format: PayloadFormat, api_base: Option<&str>) -> Value {
    match format {
        PayloadFormat::Json => json!({
            "event": event.kind.as_str(),
            "id": event.subject,
            "at": event.at,
            "data": event.data,
        }),
        PayloadFormat::Slack => slack(event, api_base),
    }
}

fn field<'a>(data: &'a Value, key: &str) -> &'a str {
    data.get(key).and_then(Value::as_str).unwrap_or("?")
}

/// `\nParameters: $1 = '…', $2 = NULL` for an extended-protocol execution, else nothing.
fn slack_parameters(data: &Value) -> String {
    let Some(params) = data
        .get("parameters")
        .and_then(Value::as_array)
        .filter(|p| !p.is_empty())
    else {
        return String::new();
    };
    let shown: Vec<String> = params
        .iter()
        .enumerate()
        .map(|(i, p)| match p.as_str() {
            Some(text) => format!("${} = `{}`", i + 1, text.replace('`', "'")),
            None => format!("${} = NULL", i + 1),
        })
        .collect();
    format!("\nParameters: {}", shown.join(", "))
}

fn slack(event: &Event, api_base: Option<&str>) -> Value {
    let d = &event.data;
    let id = &event.subject;
    let text = match event.kind {
        EventKind::ReviewCreated => format!(
            ":hourglass: *{}* asks to run on *{}* (rule `{}`, approvers: {}):\n```{}```{}\nReason: {}\nApprove: `sluice review approve {id}` · Deny: `sluice review deny {id} --reason ...`",
            field(d, "user"),
            field(d, "connection"),
            field(d, "rule"),
            d.get("approver_groups").map(Value::to_string).unwrap_or_default(),
            field(d, "statement"),
            slack_parameters(d),
            d.get("justification").and_then(Value::as_str).unwrap_or("(none given)"),
        ),
        EventKind::ReviewDecided => format!("Review {id} is *{}* (by {}).", field(d, "status"), field(d, "approver")),
        EventKind::AccessRequested => format!(
            ":key: *{}* asks for access to *{}* for {}s: {}\nApprove: `sluice request approve {id}`",
            field(d, "user"),
            field(d, "connection"),
            d.get("duration_secs").and_then(Value::as_i64).unwrap_or(0),
            field(d, "reason"),
        ),
        EventKind::AccessDecided => format!("Access request {id} is *{}* (by {}).", field(d, "status"), field(d, "approver")),
        EventKind::SessionOpened => format!("Session {id}: *{}* connected to *{}*.", field(d, "user"), field(d, "connection")),
        EventKind::SessionClosed => format!("Session {id} of *{}* on *{}* ended.", field(d, "user"), field(d, "connection")),
    };
    let mut blocks = vec![json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })];
    if let (EventKind::ReviewCreated, Some(base)) = (event.kind, api_base) {
        let base = base.trim_end_matches('/');
        blocks.push(json!({
            "type": "actions",
            "elements": [
                { "type": "button", "text": { "type": "plain_text", "text": "Approve" }, "style": "primary",
                  "url": format!("{base}/api/v1/reviews/{id}/approve"), "action_id": "approve" },
                { "type": "button", "text": { "type": "plain_text", "text": "Deny" }, "style": "danger",
                  "url": format!("{base}/api/v1/reviews/{id}/deny"), "action_id": "deny" },
            ],
        }));
    }
    json!({ "text": text, "blocks": blocks })
}

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Option<HmacSha256> {
    // HMAC accepts keys of any length; the error case exists only for fixed-size-key MACs.
    let mut mac = HmacSha256::new_from_slice(secret).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// The `X-Sluice-Signature` value for `body` signed at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    mac(secret, timestamp, body)
        .map(|m| format!("v1={}", hex::encode(m.finalize().into_bytes())))
        .unwrap_or_default()
}

/// What a receiver does: checks the signature (constant time) and that the timestamp is within `tolerance` of
/// `now` (unix seconds), so a captured request cannot be replayed later.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> bool {
    let Ok(ts) = timestamp.trim().parse::<i64>() else {
        return false;
    };
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if now.abs_diff(ts) > tolerance.unsigned_abs() {
        return false;
    }
    let Some(Ok(given)) = signature.trim().strip_prefix("v1=").map(hex::decode) else {
        return false;
    };
    mac(secret, ts, body).is_some_and(|m| m.verify_slice(&given).is_ok())
}

/// Delay before attempt `attempt` (2, 3, ...): 1 s, 2 s, 4 s, ... capped at 60 s.
pub fn backoff(attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(2).min(6);
    Duration::from_secs((1u64 << exp).min(60))
}

/// `url` without user info or query (which may carry credentials), for logs and the delivery log.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host_path = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let without_query = host_path.split(['?', '#']).next().unwrap_or("");
    if scheme.is_empty() {
        without_query.to_owned()
    } else {
        format!("{scheme}://{without_query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind) -> Event {
        Event {
            kind,
            subject: "r-0123456789ab".into(),
            at: 1_700_000_000,
            data: json!({ "user": "alice", "connection": "prod", "rule": "r", "statement": "DELETE FROM t",
                          "approver_groups": ["dba"], "status": "approved", "approver": "bob" }),
            routes: vec!["dba-slack".into()],
        }
    }

    fn target(name: &str, scope: WebhookScope, events: Vec<EventKind>) -> WebhookTarget {
        WebhookTarget {
            name: name.into(),
            scope,
            url: "https://hooks.example/x".into(),
            secret: "s".into(),
            format: PayloadFormat::Json,
            events,
        }
    }

    #[test]
    fn policy_webhooks_get_only_the_events_routed_to_them() {
        let e = event(EventKind::ReviewCreated);
        assert!(target("ops", WebhookScope::Global, vec![]).gets(&e));
        assert!(target("dba-slack", WebhookScope::Policy, vec![]).gets(&e));
        assert!(!target("other", WebhookScope::Policy, vec![]).gets(&e));
        assert!(!target("dba-slack", WebhookScope::Policy, vec![EventKind::ReviewDecided]).gets(&e));
        assert!(!target("ops", WebhookScope::Global, vec![EventKind::SessionOpened]).gets(&e));
    }

    #[test]
    fn slack_shows_the_parameters_of_an_execution() {
        let mut e = event(EventKind::ReviewCreated);
        e.data["parameters"] = json!(["4111 **** **** 1111", null]);
        let text = payload(&e, PayloadFormat::Slack, None)["text"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            text.contains("Parameters: $1 = `4111 **** **** 1111`, $2 = NULL"),
            "{text}"
        );
    }

    #[test]
    fn signatures_verify_and_reject_tampering_and_replays() {
        let body = br#"{"event":"review.created"}"#;
        let sig = sign(b"s3cret", 1_700_000_000, body);
        let tol = Duration::from_secs(300);
        assert!(verify(b"s3cret", "1700000000", &sig, body, 1_700_000_100, tol));
        assert!(
            !verify(b"other", "1700000000", &sig, body, 1_700_000_100, tol),
            "wrong key"
        );
        assert!(
            !verify(b"s3cret", "1700000000", &sig, b"{}", 1_700_000_100, tol),
            "body changed"
        );
        assert!(
            !verify(b"s3cret", "1700000001", &sig, body, 1_700_000_100, tol),
            "timestamp changed"
        );
        assert!(
            !verify(b"s3cret", "1700000000", &sig, body, 1_700_001_000, tol),
            "replayed later"
        );
        assert!(!verify(b"s3cret", "x", &sig, body, 1_700_000_000, tol));
        assert!(!verify(
            b"s3cret",
            "1700000000",
            "v1=zz",
            body,
            1_700_000_000,
            tol
        ));
    }

    #[test]
    fn json_and_slack_payloads() {
        let e = event(EventKind::ReviewCreated);
        let p = payload(&e, PayloadFormat::Json, None);
        assert_eq!(p["event"], "review.created");
        assert_eq!(p["id"], "r-0123456789ab");
        assert_eq!(p["data"]["user"], "alice");
        let s = payload(&e, PayloadFormat::Slack, Some("https://gw.example/"));
        let text = s["text"].as_str().unwrap();
        assert!(text.contains("sluice review approve r-0123456789ab"), "{text}");
        assert_eq!(
            s["blocks"][1]["elements"][0]["url"],
            "https://gw.example/api/v1/reviews/r-0123456789ab/approve"
        );
        let decided = payload(&event(EventKind::ReviewDecided), PayloadFormat::Slack, None);
        assert!(decided["text"].as_str().unwrap().contains("approved"));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(8));
        assert_eq!(backoff(50), Duration::from_secs(60));
    }

    #[test]
    fn urls_lose_credentials() {
        assert_eq!(
            redact_url("https://u:p@hooks.example/x?token=1"),
            "https://hooks.example/x"
        );
        let t = WebhookTarget {
            name: "ops".into(),
            scope: WebhookScope::Global,
            url: "https://hooks.example/x?token=1".into(),
            secret: "topsecret".into(),
            format: PayloadFormat::Slack,
            events: vec![],
        };
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("topsecret") && !dbg.contains("token"), "{dbg}");
    }
}
