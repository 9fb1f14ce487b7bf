//! Approvals and recording: keys, webhook secrets, and errors that name file, line and key.

use super::*;

#[test]
fn approvals_and_recording_keys_are_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let secret_path = dir.path().join("webhook.secret");
    std::fs::write(&secret_path, "file-secret-123\n").unwrap();
    let text = format!(
        r#"
[approvals]
hold_timeout = "90s"
grant_window = "2h"
admins_may_approve = true
access_approver_groups = ["dba", "sre"]
access_request_ttl = "1d12h"
public_url = "https://sluice.example.com/"

[[approvals.webhooks]]
name = "ops"
url = "https://hooks.example.com/sluice"
secret_file = "{}"
format = "json"
events = ["review.created", "review.decided"]

[[approvals.webhooks]]
name = "team-slack"
url = "https://hooks.slack.com/services/T0/B0/slackpathtoken"
secret = "inline-secret-456"
format = "slack"
scope = "policy"

[recording]
row_cap = 250
sync = "2s"
"#,
        secret_path.display()
    );
    let (result, _, _dir) = load_file(&text, &[]);
    let config = result.unwrap();
    let a = &config.approvals;
    assert_eq!(a.hold_timeout, Duration::from_secs(90));
    assert_eq!(a.grant_window, Duration::from_secs(7200));
    assert!(a.admins_may_approve);
    assert_eq!(a.access_approver_groups, ["dba", "sre"]);
    assert_eq!(a.access_request_ttl, Duration::from_secs(36 * 3600));
    assert_eq!(a.public_url.as_deref(), Some("https://sluice.example.com"));
    let [ops, slack] = a.webhooks.as_slice() else {
        panic!("two webhooks expected: {:?}", a.webhooks);
    };
    assert_eq!(ops.name, "ops");
    assert_eq!(ops.url, "https://hooks.example.com/sluice");
    assert_eq!(ops.secret.expose(), "file-secret-123");
    assert_eq!(ops.format, WebhookFormat::Json);
    assert_eq!(ops.events, ["review.created", "review.decided"]);
    assert_eq!(slack.name, "team-slack");
    assert_eq!(slack.secret.expose(), "inline-secret-456");
    assert_eq!(slack.format, WebhookFormat::Slack);
    assert!(slack.events.is_empty());
    assert_eq!(ops.scope, WebhookScope::Global, "the default scope");
    assert_eq!(slack.scope, WebhookScope::Policy);
    assert_eq!(config.recording.row_cap, 250);
    assert_eq!(
        config.recording.sync_interval,
        Some(std::time::Duration::from_secs(2))
    );

    // The environment wins over the file, and the variable is named after the webhook.
    let (result, _, _dir) = load_file(&text, &[("SLUICE_WEBHOOK_TEAM_SLACK_SECRET", "env-secret-789")]);
    let config = result.unwrap();
    assert_eq!(config.approvals.webhooks[1].secret.expose(), "env-secret-789");
    assert_eq!(config.approvals.webhooks[0].secret.expose(), "file-secret-123");
}

#[test]
fn webhook_secret_may_come_from_the_environment_alone() {
    let text = "[[approvals.webhooks]]\nname = \"ops\"\nurl = \"http://127.0.0.1:9000/hook\"\n";
    let (result, _, _dir) = load_file(text, &[("SLUICE_WEBHOOK_OPS_SECRET", "s3cr3t-env")]);
    let config = result.unwrap();
    assert_eq!(config.approvals.webhooks[0].secret.expose(), "s3cr3t-env");
    assert_eq!(config.approvals.webhooks[0].format, WebhookFormat::Json);
}

#[test]
fn webhook_debug_hides_the_secret_and_the_url_credentials() {
    let text = r#"
[[approvals.webhooks]]
name = "ops"
url = "https://user:pa55word@hooks.example.com/services/pathtoken?sig=querytoken"
secret = "never-show-this-secret"
"#;
    let (result, _, _dir) = load_file(text, &[]);
    let config = result.unwrap();
    let hook = &config.approvals.webhooks[0];
    assert_eq!(hook.secret.expose(), "never-show-this-secret");
    for shown in [format!("{hook:?}"), format!("{config:?}"), format!("{hook:#?}")] {
        for hidden in [
            "never-show-this-secret",
            "pa55word",
            "user:",
            "pathtoken",
            "querytoken",
        ] {
            assert!(!shown.contains(hidden), "{hidden} leaked: {shown}");
        }
        assert!(shown.contains("hooks.example.com"), "{shown}");
        assert!(shown.contains("ops"), "{shown}");
    }
}

#[test]
fn approvals_errors_name_file_line_and_key() {
    let hook =
        "[[approvals.webhooks]]\nname = \"ops\"\nurl = \"https://hooks.example.com\"\nsecret = \"s\"\n";
    let cases: Vec<(String, usize, &str, &str)> = vec![
        (
            "[approvals]\nhold_timeout = \"2 minutes\"\n".into(),
            2,
            "approvals.hold_timeout",
            "is not a duration",
        ),
        (
            "[approvals]\n\ngrant_window = \"1w\"\n".into(),
            3,
            "approvals.grant_window",
            "is not a duration",
        ),
        (
            "[approvals]\naccess_request_ttl = \"0h\"\n".into(),
            2,
            "approvals.access_request_ttl",
            "is not a duration",
        ),
        (
            "[approvals]\nhold_timeout = \"2h\"\n".into(),
            2,
            "approvals.hold_timeout",
            "at most 1h",
        ),
        (
            "[approvals]\npublic_url = \"sluice.example.com\"\n".into(),
            2,
            "approvals.public_url",
            "expected an http",
        ),
        (
            "[approvals]\naccess_approver_groups = [\"dba\", \"dba\"]\n".into(),
            2,
            "approvals.access_approver_groups",
            "listed twice",
        ),
        (
            format!("{hook}events = [\"review.created\", \"review.exploded\"]\n"),
            5,
            "approvals.webhooks[0].events",
            "`review.exploded` is not an event",
        ),
        (
            "[[approvals.webhooks]]\nname = \"ops\"\nurl = \"https://hooks.example.com\"\n".into(),
            2,
            "approvals.webhooks[0].secret",
            "SLUICE_WEBHOOK_OPS_SECRET",
        ),
        (
            format!("{hook}{hook}"),
            6,
            "approvals.webhooks[1].name",
            "`ops` is configured twice",
        ),
        (
            "[[approvals.webhooks]]\nname = \"ops\"\nurl = \"ftp://hooks.example.com/x\"\nsecret = \"s\"\n".into(),
            3,
            "approvals.webhooks[0].url",
            "expected an http:// or https:// URL",
        ),
        (
            "[[approvals.webhooks]]\nname = \"ops hook\"\nurl = \"https://h.example.com\"\nsecret = \"s\"\n".into(),
            2,
            "approvals.webhooks[0].name",
            "letters, digits",
        ),
        (
            format!("{hook}format = \"xml\"\n"),
            5,
            "approvals.webhooks[0].format",
            "expected json or slack",
        ),
        (
            format!("{hook}scope = \"team\"\n"),
            5,
            "approvals.webhooks[0].scope",
            "expected global (every event) or policy",
        ),
        (
            format!("{hook}secret_file = \"/x\"\n"),
            4,
            "approvals.webhooks[0].secret",
            "not both",
        ),
        (
            "[[approvals.webhooks]]\nname = \"ops\"\nurl = \"https://h.example.com\"\nsecret_file = \"/nonexistent/sluice.secret\"\n".into(),
            4,
            "approvals.webhooks[0].secret_file",
            "cannot read /nonexistent/sluice.secret",
        ),
        (
            "[recording]\nrow_cap = 0\n".into(),
            2,
            "recording.row_cap",
            "out of range",
        ),
        (
            "[recording]\nrow_cap = -5\n".into(),
            2,
            "recording.row_cap",
            "out of range",
        ),
    ];
    for (text, line, key, message) in cases {
        let (result, path, _dir) = load_file(&text, &[]);
        let err = result.unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}:{line}:", path.display()))
                && err.contains(&format!("{key}: "))
                && err.contains(message),
            "{text}\n=> {err}"
        );
    }
}

#[test]
fn bad_webhook_url_is_not_echoed_in_the_error() {
    let text = "[[approvals.webhooks]]\nname = \"ops\"\nurl = \"hooks.slack.com/services/T0/B0/tokentoken\"\nsecret = \"s\"\n";
    let (result, _, _dir) = load_file(text, &[]);
    let err = result.unwrap_err().to_string();
    assert!(err.contains("approvals.webhooks[0].url"), "{err}");
    assert!(!err.contains("tokentoken"), "{err}");
}

#[test]
fn approvals_unknown_keys_are_refused() {
    let (result, path, _dir) = load_file("[approvals]\nhold = \"2m\"\n", &[]);
    let text = result.unwrap_err().to_string();
    assert!(text.starts_with(&format!("{}:2:", path.display())), "{text}");
    assert!(text.contains("hold"), "{text}");

    let text = "[[approvals.webhooks]]\nname = \"ops\"\nurl = \"https://h.example.com\"\nsecret = \"s\"\nretries = 3\n";
    let (result, path, _dir) = load_file(text, &[]);
    let text = result.unwrap_err().to_string();
    assert!(text.starts_with(&format!("{}:5:", path.display())), "{text}");
    assert!(text.contains("retries"), "{text}");

    let (result, _, _dir) = load_file("[recording]\nrows = 5\n", &[]);
    assert!(result.unwrap_err().to_string().contains("rows"));
}
