//! `sluice review ...` (statements held for approval) and `sluice request ...` (time-bound access): clients of
//! `/api/v1/reviews` and `/api/v1/access-requests`. The rules (no self-approval, approver groups, finality) are
//! the store's; the CLI shows the API's refusal as is.

use std::io::Write;

use clap::Subcommand;
use serde_json::{json, Value};

use super::client::Client;
use super::commands::path_segment;
use super::table::{list, print_json, text, when, Table};

/// `sluice review ...`
#[derive(Debug, Subcommand)]
pub(super) enum ReviewCommand {
    /// List reviews, newest first (yours, and those you may decide; admins and auditors see all).
    List {
        /// Only those waiting for a decision.
        #[arg(long)]
        pending: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one review: the full statement, who, where, why, the rule and the votes.
    Show {
        /// Review id (r-...).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve a review (not your own; approver groups only).
    Approve {
        /// Review id (r-...).
        id: String,
        /// A comment recorded with the approval.
        #[arg(long)]
        comment: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Deny a review, saying why (the requester sees the reason).
    Deny {
        /// Review id (r-...).
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `sluice request ...`
#[derive(Debug, Subcommand)]
pub(super) enum RequestCommand {
    /// Ask for temporary access to a connection.
    Access {
        /// Connection name.
        connection: String,
        /// How long, e.g. 2h (at most 7d).
        #[arg(long = "for")]
        duration: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List access requests, newest first.
    List {
        /// Only those waiting for a decision.
        #[arg(long)]
        pending: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve an access request.
    Approve {
        /// Request id (a-...).
        id: String,
        /// A comment recorded with the approval.
        #[arg(long)]
        comment: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Deny an access request.
    Deny {
        /// Request id (a-...).
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn status_query(pending: bool) -> Vec<(&'static str, &'static str)> {
    if pending {
        vec![("status", "pending")]
    } else {
        Vec::new()
    }
}

/// The votes as `bob: approved (comment)`, one per line.
fn votes(r: &Value) -> Vec<String> {
    r.get("decisions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| {
            let verb = if v.get("approve").and_then(Value::as_bool) == Some(true) {
                "approved"
            } else {
                "denied"
            };
            match v.get("comment").and_then(Value::as_str) {
                Some(c) => format!("{}: {verb} at {} ({c})", text(v, "approver"), when(v, "at")),
                None => format!("{}: {verb} at {}", text(v, "approver"), when(v, "at")),
            }
        })
        .collect()
}

/// The statement on one line, at most 60 characters, for tables.
fn short(statement: &str) -> String {
    let one: String = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= 60 {
        one
    } else {
        let mut s: String = one.chars().take(57).collect();
        s.push_str("...");
        s
    }
}

fn show_review(out: &mut impl Write, r: &Value) -> anyhow::Result<()> {
    let lines = [
        ("id", text(r, "id")),
        ("status", text(r, "status")),
        ("user", text(r, "user")),
        ("connection", text(r, "connection")),
        ("session", text(r, "session")),
        ("rule", text(r, "rule")),
        ("policy", text(r, "reason")),
        ("justification", text(r, "justification")),
        (
            "approvers",
            format!(
                "{} (approvals needed: {})",
                list(r, "approver_groups"),
                text(r, "approvals_required")
            ),
        ),
        ("created", when(r, "created_at")),
        ("expires", when(r, "expires_at")),
        ("decided", when(r, "decided_at")),
        ("grant until", when(r, "grant_until")),
    ];
    for (k, v) in lines {
        writeln!(out, "{k:<14} {v}")?;
    }
    for v in votes(r) {
        writeln!(out, "{:<14} {v}", "vote")?;
    }
    writeln!(out, "statement:")?;
    writeln!(out, "{}", text(r, "statement"))?;
    let params = r
        .get("parameters")
        .and_then(Value::as_array)
        .filter(|p| !p.is_empty());
    if let Some(params) = params {
        // Values as the gateway stored them: sensitive ones masked, binary ones by size.
        writeln!(out, "parameters:")?;
        for (i, p) in params.iter().enumerate() {
            match p.as_str() {
                Some(value) => writeln!(out, "  ${} = {value}", i + 1)?,
                None => writeln!(out, "  ${} = NULL", i + 1)?,
            }
        }
    }
    Ok(())
}

/// Runs `sluice review ...`.
pub(super) fn review(out: &mut impl Write, client: &Client, cmd: ReviewCommand) -> anyhow::Result<()> {
    match cmd {
        ReviewCommand::List { pending, json } => {
            let reviews = client.get("/api/v1/reviews", &status_query(pending))?;
            if json {
                return print_json(out, &reviews);
            }
            let mut table = Table::new(&[
                "ID",
                "STATUS",
                "CREATED",
                "USER",
                "CONNECTION",
                "RULE",
                "APPROVERS",
                "STATEMENT",
            ]);
            for r in reviews.as_array().into_iter().flatten() {
                table.row(vec![
                    text(r, "id"),
                    text(r, "status"),
                    when(r, "created_at"),
                    text(r, "user"),
                    text(r, "connection"),
                    text(r, "rule"),
                    list(r, "approver_groups"),
                    short(r.get("statement").and_then(Value::as_str).unwrap_or("")),
                ]);
            }
            Ok(table.print(
                out,
                if pending {
                    "no pending reviews"
                } else {
                    "no reviews"
                },
            )?)
        }
        ReviewCommand::Show { id, json } => {
            let r = client.get(&format!("/api/v1/reviews/{}", path_segment(&id)), &[])?;
            if json {
                return print_json(out, &r);
            }
            show_review(out, &r)
        }
        ReviewCommand::Approve { id, comment, json } => {
            let r = client.send(
                "POST",
                &format!("/api/v1/reviews/{}/approve", path_segment(&id)),
                &json!({ "comment": comment }),
            )?;
            decided(out, &r, json)
        }
        ReviewCommand::Deny { id, reason, json } => {
            let r = client.send(
                "POST",
                &format!("/api/v1/reviews/{}/deny", path_segment(&id)),
                &json!({ "reason": reason }),
            )?;
            decided(out, &r, json)
        }
    }
}

fn decided(out: &mut impl Write, r: &Value, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(out, r);
    }
    let status = text(r, "status");
    if status == "pending" {
        writeln!(out, "{}: vote recorded; more approvals are needed", text(r, "id"))?;
    } else {
        writeln!(out, "{}: {status}", text(r, "id"))?;
    }
    Ok(())
}

/// Runs `sluice request ...`.
pub(super) fn request(out: &mut impl Write, client: &Client, cmd: RequestCommand) -> anyhow::Result<()> {
    match cmd {
        RequestCommand::Access {
            connection,
            duration,
            reason,
            json,
        } => {
            let r = client.send(
                "POST",
                "/api/v1/access-requests",
                &json!({ "connection": connection, "duration": duration, "reason": reason }),
            )?;
            if json {
                return print_json(out, &r);
            }
            writeln!(
                out,
                "access request {} for {} is pending; an approver runs `sluice request approve {}`",
                text(&r, "id"),
                text(&r, "connection"),
                text(&r, "id")
            )?;
            Ok(())
        }
        RequestCommand::List { pending, json } => {
            let requests = client.get("/api/v1/access-requests", &status_query(pending))?;
            if json {
                return print_json(out, &requests);
            }
            let mut table = Table::new(&[
                "ID",
                "STATUS",
                "CREATED",
                "USER",
                "CONNECTION",
                "FOR",
                "UNTIL",
                "REASON",
            ]);
            for r in requests.as_array().into_iter().flatten() {
                let secs = r.get("duration_secs").and_then(Value::as_i64).unwrap_or(0);
                table.row(vec![
                    text(r, "id"),
                    text(r, "status"),
                    when(r, "created_at"),
                    text(r, "user"),
                    text(r, "connection"),
                    human(secs),
                    when(r, "grant_until"),
                    short(r.get("reason").and_then(Value::as_str).unwrap_or("")),
                ]);
            }
            Ok(table.print(out, "no access requests")?)
        }
        RequestCommand::Approve { id, comment, json } => {
            let r = client.send(
                "POST",
                &format!("/api/v1/access-requests/{}/approve", path_segment(&id)),
                &json!({ "comment": comment }),
            )?;
            decided(out, &r, json)
        }
        RequestCommand::Deny { id, reason, json } => {
            let r = client.send(
                "POST",
                &format!("/api/v1/access-requests/{}/deny", path_segment(&id)),
                &json!({ "reason": reason }),
            )?;
            decided(out, &r, json)
        }
    }
}

/// `7200` -> `2h`, `5400` -> `1h30m`.
fn human(secs: i64) -> String {
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    match (h, m) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_statements_print_short() {
        assert_eq!(human(7200), "2h");
        assert_eq!(human(5400), "1h30m");
        assert_eq!(human(600), "10m");
        assert_eq!(short("DELETE\n  FROM t"), "DELETE FROM t");
        assert_eq!(short(&"x".repeat(100)).chars().count(), 60);
    }

    #[test]
    fn a_review_shows_everything_an_approver_needs() {
        let r = json!({
            "id": "r-0123456789ab", "status": "pending", "user": "alice", "connection": "prod",
            "rule": "review-deletes", "reason": "deletes need review", "justification": "INC-9",
            "approver_groups": ["dba"], "approvals_required": 1, "statement": "DELETE FROM t WHERE a = $1 AND b = $2",
            "parameters": ["4111 **** **** 1111", null],
            "decisions": [{"approver": "bob", "approve": true, "comment": "ok", "at": "2026-01-01T00:00:00Z"}],
        });
        let mut out = Vec::new();
        show_review(&mut out, &r).unwrap();
        let text = String::from_utf8(out).unwrap();
        for want in [
            "alice",
            "prod",
            "review-deletes",
            "INC-9",
            "dba",
            "DELETE FROM t WHERE a = $1 AND b = $2",
            "$1 = 4111 **** **** 1111",
            "$2 = NULL",
            "bob: approved",
        ] {
            assert!(text.contains(want), "{want} missing from:\n{text}");
        }
    }
}
