//! Policy for SSH: exec commands and typed lines are classified by the shell classifier and decided with the
//! session's policy snapshot; local forwards are decided as a `forward HOST:PORT` request text.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use sluice_mask::{MaskConfig, Masker};
use sluice_model::Protocol;
use sluice_policy::{Decision, Policy, Subject, Target};
use sluice_record::{Event, Statement, Verdict};

use crate::login::Authorized;
use crate::record::SessionLog;
use crate::target::TargetOptions;
use crate::SshError;

/// One session's judge.
#[derive(Debug)]
pub struct Judge {
    policy: Arc<Policy>,
    subject: Subject,
    target: Target,
    hash_key: Vec<u8>,
    /// Masks command texts before they are recorded or shown to approvers (a secret typed into a command line must
    /// not end up in the recording or a review); the session's output masker, if the policy masks this session.
    text_masker: Option<Masker>,
}

/// A decision and its record.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The policy's decision.
    pub decision: Decision,
    /// The index of its `Statement` event in the session log.
    pub index: u64,
}

impl Judged {
    /// Whether the request may go ahead now.
    pub fn allowed(&self) -> bool {
        self.decision.is_allowed()
    }

    /// The text shown to the client when refused (a review too, when the gateway runs no approvals broker).
    pub fn refusal(&self) -> String {
        match &self.decision {
            Decision::Review { .. } => format!(
                "sluice: this command needs approval ({}); this gateway runs no approvals service, so it was not run.",
                self.decision.message().unwrap_or_default()
            ),
            _ => format!(
                "sluice: denied: {}",
                self.decision.message().unwrap_or_else(|| "refused by policy.".to_owned())
            ),
        }
    }
}

fn verdict(decision: &Decision) -> Verdict {
    match decision {
        Decision::Allow => Verdict::Allowed,
        Decision::AllowWithMask(_) => Verdict::AllowedMasked,
        Decision::Deny { .. } => Verdict::Denied,
        Decision::Review { .. } => Verdict::PendingApproval,
    }
}

fn rule(decision: &Decision) -> Option<String> {
    match decision {
        Decision::Deny { rule, .. } | Decision::Review { rule, .. } => Some(rule.clone()),
        Decision::Allow | Decision::AllowWithMask(_) => None,
    }
}

impl Judge {
    /// The judge for a session: the policy as it is now, for the whole session.
    pub fn new(policy: Arc<Policy>, who: &Authorized, options: &TargetOptions, hash_key: Vec<u8>) -> Judge {
        let mut judge = Judge {
            text_masker: None,
            policy,
            subject: Subject {
                user: who.user.name.clone(),
                groups: who.user.groups.clone(),
            },
            target: Target {
                connection: who.connection.name.clone(),
                protocol: Protocol::Ssh,
                tags: options.tags.clone(),
                read_only: options.read_only,
            },
            hash_key,
        };
        judge.text_masker = judge.output_masker();
        judge
    }

    /// The masker for command texts (recordings and reviews), when the policy masks this session.
    pub fn text_masker(&self) -> Option<Masker> {
        self.text_masker.clone()
    }

    /// Classifies and decides a shell command line, and records the decision durably before returning.
    pub fn command(&self, line: &str, log: &SessionLog) -> Result<Judged, SshError> {
        let started = Instant::now();
        let classified = sluice_policy::shell::classify(line);
        let decision =
            self.policy
                .decide_text(&self.subject, &self.target, line, &classified, SystemTime::now());
        self.record(line, decision, started, log)
    }

    /// Decides a local port forward to `host:port` (pattern rules see `forward HOST:PORT`).
    pub fn forward(&self, host: &str, port: u32, log: &SessionLog) -> Result<Judged, SshError> {
        let started = Instant::now();
        let text = format!("forward {host}:{port}");
        let decision = self
            .policy
            .decide_payload(&self.subject, &self.target, &text, SystemTime::now());
        self.record(&text, decision, started, log)
    }

    fn record(
        &self,
        text: &str,
        decision: Decision,
        started: Instant,
        log: &SessionLog,
    ) -> Result<Judged, SshError> {
        let index = log.statements.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let text = match &self.text_masker {
            Some(masker) => masker.mask_text(text).into_owned(),
            None => text.to_owned(),
        };
        log.append_durable(&Event::Statement(Statement {
            index,
            text,
            verdict: verdict(&decision),
            rule: rule(&decision),
            decision_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        }))?;
        Ok(Judged { decision, index })
    }

    /// The masker for terminal output, when the policy masks this session (decided for an empty command).
    pub fn output_masker(&self) -> Option<Masker> {
        let decision = self
            .policy
            .decide_payload(&self.subject, &self.target, "", SystemTime::now());
        let Decision::AllowWithMask(plan) = decision else {
            return None;
        };
        let config = mask_config(&plan);
        match Masker::new(&config, &self.hash_key) {
            Ok(masker) => Some(masker),
            Err(error) => {
                tracing::warn!(%error, "mask plan unusable for terminal output");
                None
            }
        }
    }
}

/// The policy's mask plan as the masker's configuration (the two mirror each other key for key; see
/// `sluice_policy::mask_plan`). A mismatch masks with every detector on rather than not at all.
fn mask_config(plan: &sluice_policy::mask_plan::MaskPlan) -> MaskConfig {
    serde_json::to_value(&plan.mask)
        .and_then(serde_json::from_value)
        .unwrap_or_else(|error| {
            tracing::error!(%error, "mask plan does not convert to a masking configuration; masking with defaults");
            MaskConfig::default()
        })
}
