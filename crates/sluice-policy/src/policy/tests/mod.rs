//! Engine tests: every guardrail and action, scoping by connection/type/tag/group, opaque defaults, custom and
//! pattern rules, masking, messages, and the loader's error reporting.
//!
//! One file a topic: `guardrails.rs`, `scoping.rs`, `opaque.rs`, `custom_rules.rs`, `masking.rs`, `reviews.rs`,
//! `decisions.rs` (precedence, messages, the documented example) and `loading.rs` (the loader's errors). The
//! helpers below build subjects, targets, policies and facts for all of them.

use super::*;
use crate::facts::{Finding, Source};
use sluice_model::Protocol;
use std::time::{Duration, UNIX_EPOCH};

mod custom_rules;
mod decisions;
mod guardrails;
mod loading;
mod masking;
mod opaque;
mod reviews;
mod scoping;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn alice() -> Subject {
    Subject {
        user: "alice".into(),
        groups: vec!["developers".into()],
    }
}

pub(super) fn member_of(groups: &[&str]) -> Subject {
    Subject {
        user: "bob".into(),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

pub(super) fn pg(name: &str) -> Target {
    Target {
        connection: name.into(),
        protocol: Protocol::Postgres,
        tags: vec![],
        read_only: false,
    }
}

fn policy(source: &str) -> Policy {
    Policy::from_toml(source).unwrap_or_else(|error| panic!("{error}"))
}

fn one_rule(guardrail: &str, action: &str) -> Policy {
    let review = if action == "review" {
        "approvers = [\"dba\"]"
    } else {
        ""
    };
    policy(&format!(
        "[[ruleset]]\nname = \"s\"\n[[ruleset.rule]]\nname = \"r\"\nguardrail = \"{guardrail}\"\naction = \"{action}\"\n{review}\n"
    ))
}

fn decide_sql(policy: &Policy, sql: &str) -> Decision {
    policy.decide_pg(&alice(), &pg("prod-db"), sql, now())
}

/// A classified request as the shell or Kubernetes classifiers would produce it.
fn facts(source: Source, tag: &str, category: Category) -> Classified {
    Classified {
        source,
        items: vec![Item {
            index: 0,
            span: 0..10,
            kind: Kind::Write,
            tag: tag.into(),
            objects: vec![],
            findings: vec![Finding {
                category,
                span: 0..10,
                detail: format!("{tag} found"),
            }],
        }],
    }
}
