//! Policy on the data path: classifies statements once, decides with the session's policy snapshot, and keeps
//! the compiled masker for the session's mask plan.
//!
//! A session's subject and target never change, so decisions for a given text never change either (a review's
//! `expires_at` is not used from the cache: `review` counts the expiry from when it holds the statement): repeated
//! simple-query strings and re-prepared statements hit a small per-session cache instead of the parser.
//!
//! Simple-protocol clients rarely repeat a text exactly: they inline their values (`WHERE aid = 48211`). A second
//! cache is keyed by the statement's template (`sluice_policy::sql::pg::literal_template`: numeric literals the
//! classifier provably never evaluates, replaced), so one classification serves every text of that shape. Only
//! plain allow decisions (with or without masking) are kept there — a refusal quotes the text it refused — and only
//! when no pattern rule reads this session's raw text.
//!
//! `EXECUTE name` runs what the session prepared under that name, so the judge also keeps the statements prepared
//! in SQL (`sluice_policy::sql::pg::Prepared`, fed with every text sent) and both caches are emptied whenever a
//! name is prepared or deallocated.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use sluice_mask::{MaskConfig, Masker};
use sluice_policy::mask_plan::MaskPlan;
use sluice_policy::sql::pg::PrepareUndo;
use sluice_policy::{Decision, Policy, Subject, Target};
use sluice_record::Verdict;

use super::fast_hash::FastMap;
use super::results::ColumnSources;
use crate::GatewayError;

/// Most distinct statement texts a session remembers decisions for. Cleared when full: workloads either repeat
/// a small set of texts (cache works) or never repeat (cache is useless either way).
const CACHE_ENTRIES: usize = 512;
/// Texts longer than this are not cached (they rarely repeat and would pin memory).
const CACHE_MAX_TEXT: usize = 4 * 1024;

/// What the gateway does with one statement text.
#[derive(Debug, Clone)]
pub(crate) struct Judgement {
    pub decision: Decision,
    /// How results are masked (allowed statements under a mask plan).
    pub masker: Option<Masker>,
    /// What its result columns come from: the tables it names, and for a masked statement the outputs that carry
    /// their columns under other names (see `results::sources`).
    pub sources: Arc<ColumnSources>,
    /// Whether the text prepares or deallocates statements in SQL (see [`Judge::sent`]).
    pub names_statements: bool,
    /// Whether it declares a cursor, whose columns a later FETCH returns (see [`Judge::sources_for`]).
    pub declares_cursor: bool,
    /// Whether it fetches from a cursor.
    pub fetches: bool,
}

impl Judgement {
    /// The verdict to record.
    pub(crate) fn verdict(&self) -> Verdict {
        match &self.decision {
            Decision::Allow => Verdict::Allowed,
            Decision::AllowWithMask(_) => Verdict::AllowedMasked,
            Decision::Deny { .. } => Verdict::Denied,
            Decision::Review { .. } => Verdict::PendingApproval,
        }
    }

    /// The rule that decided, if any.
    pub(crate) fn rule(&self) -> Option<String> {
        match &self.decision {
            Decision::Deny { rule, .. } | Decision::Review { rule, .. } => Some(rule.clone()),
            Decision::Allow | Decision::AllowWithMask(_) => None,
        }
    }
}

/// One session's judge.
#[derive(Debug)]
pub(crate) struct Judge {
    policy: Arc<Policy>,
    subject: Subject,
    target: Target,
    hash_key: Vec<u8>,
    /// The last compiled plan and its masker: every allowed statement of a session carries the same plan.
    masker: Option<(MaskPlan, Masker)>,
    /// Shared judgements: a cache hit costs one reference count, not a copy of the decision and mask plan.
    cache: FastMap<Box<str>, Arc<Judgement>>,
    /// Allow judgements by statement template; `None` when pattern rules make decisions depend on the exact text.
    templates: Option<FastMap<Box<[u8]>, Arc<Judgement>>>,
    /// The text and decision time of the latest judgement that missed the cache. `review` judges each statement
    /// to see whether it must be held and the normal path judges it again to record it: that second, cached call
    /// reports the real decision time instead of 0.
    last_miss: Option<(Box<str>, u64)>,
    /// Holding statements for approval, when the gateway runs a broker (see `review`).
    reviews: Option<super::review::ReviewContext>,
    /// The statements this session prepared in SQL, which its `EXECUTE`s run (see [`Judge::sent`]).
    prepared: sluice_policy::sql::pg::Prepared,
    /// What the columns of the cursors this session declared are computed from (see [`Judge::sources_for`]).
    cursors: CursorLineage,
}

/// Most renamed or computed cursor columns the judge keeps apart; past that, every column a FETCH returns takes
/// the strictest mask of everything any cursor read, so a session declaring cursors without end cannot grow it.
const CURSOR_COLUMNS: usize = 1024;

/// The renamed and computed columns of every cursor the session declared, for its FETCHes: a FETCH names no table
/// and no column, and psql's `FETCH_COUNT` runs every query as `DECLARE ... CURSOR FOR <query>` and FETCHes.
#[derive(Debug, Default)]
struct CursorLineage {
    derived: Vec<sluice_policy::sql::pg::DerivedColumn>,
    /// Reads of the columns past [`CURSOR_COLUMNS`].
    every_column: std::collections::BTreeSet<sluice_policy::sql::pg::ColumnRead>,
    /// The sources FETCHes get, built once per change.
    shared: Option<Arc<ColumnSources>>,
}

impl CursorLineage {
    fn declared(&mut self, derived: &[sluice_policy::sql::pg::DerivedColumn]) {
        for column in derived {
            if self.derived.contains(column) {
                continue;
            }
            if self.derived.len() < CURSOR_COLUMNS {
                self.derived.push(column.clone());
            } else {
                self.every_column.extend(column.reads.iter().cloned());
            }
            self.shared = None;
        }
    }

    fn sources(&mut self) -> Arc<ColumnSources> {
        let shared = self.shared.get_or_insert_with(|| {
            Arc::new(ColumnSources {
                // A FETCH names no table: names are resolved against every table's rules (see `results`).
                tables: Vec::new(),
                derived: self.derived.clone(),
                every_column: self.every_column.iter().cloned().collect(),
                copy_out: None,
            })
        });
        Arc::clone(shared)
    }
}

impl Judge {
    pub(crate) fn new(policy: Arc<Policy>, subject: Subject, target: Target, hash_key: Vec<u8>) -> Judge {
        let templates = (!policy.reads_raw_text(&subject, &target)).then(FastMap::default);
        Judge {
            templates,
            policy,
            subject,
            target,
            hash_key,
            masker: None,
            cache: FastMap::default(),
            last_miss: None,
            reviews: None,
            prepared: sluice_policy::sql::pg::Prepared::default(),
            cursors: CursorLineage::default(),
        }
    }

    /// What the result columns of a statement judged `judgement` come from: its own sources, or for a FETCH,
    /// those of the cursors the session declared.
    pub(crate) fn sources_for(&mut self, judgement: &Judgement) -> Arc<ColumnSources> {
        if judgement.fetches {
            self.cursors.sources()
        } else {
            Arc::clone(&judgement.sources)
        }
    }

    /// Tells the judge that `sql` goes to the target: the `PREPARE`s and `DEALLOCATE`s in it change what later
    /// `EXECUTE`s run, and so the decisions about them, which are then forgotten. Called once per text sent (a
    /// refused text never reaches the target and prepares nothing).
    /// Returns, for a text that is one `PREPARE`, how to take it back if the target refuses it.
    pub(crate) fn sent(&mut self, sql: &str, judgement: &Judgement) -> Option<Arc<PrepareUndo>> {
        if judgement.declares_cursor {
            self.cursors.declared(&judgement.sources.derived);
        }
        if !judgement.names_statements {
            return None;
        }
        let tracked = self.prepared.follow(sql);
        if tracked.changed {
            self.forget_decisions();
        }
        tracked.undo.map(Arc::new)
    }

    /// The target answered a text that was one `PREPARE` with an error: it prepared nothing.
    pub(crate) fn prepare_refused(&mut self, undo: &PrepareUndo) {
        if self.prepared.refused(undo) {
            self.forget_decisions();
        }
    }

    /// A Parse named `name` (allowed or its failing stand-in) went to the target: `EXECUTE name` in SQL cannot be
    /// judged by a text the gateway followed any more (see `sluice_policy::sql::pg::Prepared::parsed`).
    pub(crate) fn parsed(&mut self, name: &str) {
        if self.prepared.parsed(name) {
            self.forget_decisions();
        }
    }

    /// A Close of the statement `name` went to the target.
    pub(crate) fn closed(&mut self, name: &str) {
        if self.prepared.closed(name) {
            self.forget_decisions();
        }
    }

    /// Forgets every cached decision: what an `EXECUTE` runs has changed.
    fn forget_decisions(&mut self) {
        self.cache.clear();
        if let Some(templates) = &mut self.templates {
            templates.clear();
        }
        self.last_miss = None;
    }

    /// Lets this session hold statements the policy sends to review (`None`: refuse them, as without a broker).
    /// A session whose policy has no review rule for it keeps none: nothing can be held, and the data path then
    /// skips looking for statements to hold.
    pub(crate) fn enable_reviews(&mut self, reviews: Option<super::review::ReviewContext>) {
        self.reviews = reviews.filter(|_| self.policy.may_review(&self.subject, &self.target));
    }

    /// The session's review context, mutable (to remember `SET sluice.reason`).
    pub(crate) fn reviews_mut(&mut self) -> Option<&mut super::review::ReviewContext> {
        self.reviews.as_mut()
    }

    /// The session's review context, if statements can be held.
    pub(crate) fn reviews(&self) -> Option<&super::review::ReviewContext> {
        self.reviews.as_ref()
    }

    /// The masker for messages that belong to no statement (notices, errors at any time): the session's mask plan,
    /// found by asking the policy about a statement every policy allows.
    pub(crate) fn session_masker(&mut self) -> Result<Option<Masker>, GatewayError> {
        let decision = self
            .policy
            .decide_pg(&self.subject, &self.target, "SELECT 1", SystemTime::now());
        match decision {
            Decision::AllowWithMask(plan) => self.masker_for(&plan).map(Some),
            _ => Ok(None),
        }
    }

    /// Classifies and decides about `sql` (a simple-query string or one Parse), returning the judgement and how
    /// long it took in microseconds (0 for a cached one).
    pub(crate) fn judge(&mut self, sql: &str) -> Result<(Arc<Judgement>, u64), GatewayError> {
        if let Some(hit) = self.cache.get(sql) {
            let took = match self.last_miss.take() {
                Some((text, took)) if &*text == sql => took,
                _ => 0,
            };
            return Ok((Arc::clone(hit), took));
        }
        let started = Instant::now();
        let template = match &self.templates {
            Some(templates) if sql.len() <= CACHE_MAX_TEXT => {
                let key = sluice_policy::sql::pg::literal_template(sql);
                if let Some(hit) = key.as_deref().and_then(|key| templates.get(key)) {
                    let hit = Arc::clone(hit);
                    let took = match self.last_miss.take() {
                        Some((text, took)) if &*text == sql => took,
                        _ => u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                    };
                    return Ok((hit, took));
                }
                key
            }
            _ => None,
        };
        // What the outputs are computed from is read on the same parse: a masked statement uses it, and so does one
        // held for review and run under the session's masker once approved.
        let (classified, lineage) = sluice_policy::sql::pg::classify_with_lineage(sql, &self.prepared);
        let mut decision =
            self.policy
                .decide_text(&self.subject, &self.target, sql, &classified, SystemTime::now());
        let mut masker = match &decision {
            Decision::AllowWithMask(plan) => Some(self.masker_for(plan)?),
            _ => None,
        };
        let mut tables: Vec<String> = classified
            .items
            .iter()
            .flat_map(|item| item.objects.iter())
            .filter(|o| {
                matches!(
                    o.kind,
                    sluice_policy::facts::ObjectKind::Table | sluice_policy::facts::ObjectKind::View
                )
            })
            .map(|o| o.name.clone())
            .collect();
        tables.sort();
        tables.dedup();
        let names_statements = classified
            .items
            .iter()
            .any(|item| matches!(item.tag.as_str(), "PREPARE" | "DEALLOCATE" | "DISCARD"));
        let has_tag = |tag: &str| classified.items.iter().any(|item| item.tag == tag);
        let sources = ColumnSources {
            tables,
            derived: lineage.derived,
            every_column: Vec::new(),
            copy_out: lineage.copy_out,
        };
        if masker.as_ref().is_some_and(|m| sources.copy_needs_columns(m)) {
            decision = copy_without_columns(&classified);
            masker = None;
        }
        let judgement = Arc::new(Judgement {
            declares_cursor: has_tag("DECLARE CURSOR"),
            fetches: has_tag("FETCH"),
            decision,
            masker,
            sources: Arc::new(sources),
            names_statements,
        });
        let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let allowed = matches!(judgement.decision, Decision::Allow | Decision::AllowWithMask(_));
        match (template, &mut self.templates) {
            (Some(key), Some(templates)) if allowed => {
                if templates.len() >= CACHE_ENTRIES {
                    templates.clear();
                }
                templates.insert(key.into(), Arc::clone(&judgement));
                self.last_miss = Some((sql.into(), took));
            }
            _ if sql.len() <= CACHE_MAX_TEXT => {
                if self.cache.len() >= CACHE_ENTRIES {
                    self.cache.clear();
                }
                self.cache.insert(sql.into(), Arc::clone(&judgement));
                self.last_miss = Some((sql.into(), took));
            }
            _ => {}
        }
        Ok((judgement, took))
    }

    fn masker_for(&mut self, plan: &MaskPlan) -> Result<Masker, GatewayError> {
        if let Some((known, masker)) = &self.masker {
            if known == plan {
                return Ok(masker.clone());
            }
        }
        let masker = Masker::new(&mask_config(plan), &self.hash_key)?;
        self.masker = Some((plan.clone(), masker.clone()));
        Ok(masker)
    }
}

/// The refusal of a `COPY ... TO STDOUT` that does not name its columns, of a table a column rule covers: its rows
/// carry no column names, so the rule could not be applied to them.
fn copy_without_columns(classified: &sluice_policy::facts::Classified) -> Decision {
    let copy = classified.items.iter().find(|item| item.tag == "COPY");
    Decision::Deny {
        rule: "column rules".to_owned(),
        reason: "a column rule masks columns of this table, and this COPY TO does not name its columns, so sluice \
                 cannot tell which field of its rows to mask"
            .to_owned(),
        item_index: copy.map_or(0, |item| item.index),
        span: copy.map_or(0..0, |item| item.span.clone()),
        hint: Some(
            "name the columns: COPY staff (id, name, salary) TO STDOUT, or \\copy (SELECT id, name, salary FROM staff) \
             TO ..."
                .to_owned(),
        ),
    }
}

/// The policy's mask section in the masking engine's terms. The two types mirror each other key for key (see
/// `sluice_policy::mask_plan`), so the conversion goes through their shared serialised form; a mismatch falls
/// back to the strictest sensible configuration (every detector on, default style) rather than to no masking.
fn mask_config(plan: &MaskPlan) -> MaskConfig {
    serde_json::to_value(&plan.mask)
        .and_then(serde_json::from_value)
        .unwrap_or_else(|error| {
            tracing::error!(%error, "mask plan does not convert to a masking configuration; masking with defaults");
            MaskConfig::default()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_policy::mask_plan::{ColumnRule, Detector, MaskSection, MaskStyle};
    use std::collections::BTreeMap;

    fn judge_for(policy: &str) -> Judge {
        let policy = Policy::from_toml(policy).expect("policy");
        let subject = Subject {
            user: "alice".into(),
            groups: vec!["developers".into()],
        };
        let target = Target {
            connection: "pg-prod".into(),
            protocol: sluice_model::Protocol::Postgres,
            tags: vec![],
            read_only: false,
        };
        Judge::new(Arc::new(policy), subject, target, vec![7; 32])
    }

    const GUARDRAILS: &str = r#"
        [[ruleset]]
        name = "g"
        [[ruleset.rule]]
        name = "no-tautologies"
        guardrail = "tautological_where"
        action = "deny"
    "#;

    #[test]
    fn statements_differing_in_column_literals_share_one_classification() {
        let mut judge = judge_for(GUARDRAILS);
        let (first, _) = judge.judge("DELETE FROM t WHERE id = 1").unwrap();
        let (second, _) = judge.judge("DELETE FROM t WHERE id = 2").unwrap();
        assert!(
            Arc::ptr_eq(&first, &second),
            "the second text reuses the first's judgement"
        );
        assert_eq!(second.decision, Decision::Allow);
        // A constant comparison is not a template of the above and is judged on its own.
        let (tautology, _) = judge.judge("DELETE FROM t WHERE 1 = 1").unwrap();
        assert!(matches!(tautology.decision, Decision::Deny { .. }));
        let (again, _) = judge.judge("DELETE FROM t WHERE 2 = 2").unwrap();
        assert!(matches!(again.decision, Decision::Deny { .. }));
    }

    #[test]
    fn refusals_are_never_reused_for_other_texts() {
        let mut judge = judge_for(
            r#"
            [[ruleset]]
            name = "g"
            [[ruleset.rule]]
            name = "no-deletes"
            statements = ["DELETE"]
            action = "deny"
            "#,
        );
        let (first, _) = judge.judge("DELETE FROM t WHERE id = 1").unwrap();
        let (second, _) = judge.judge("DELETE FROM t WHERE id = 2").unwrap();
        assert!(matches!(second.decision, Decision::Deny { .. }));
        assert!(!Arc::ptr_eq(&first, &second), "a refusal quotes its own text");
    }

    #[test]
    fn pattern_rules_turn_templates_off() {
        let mut judge = judge_for(
            r#"
            [[ruleset]]
            name = "p"
            [[ruleset.rule]]
            name = "no-666"
            pattern = "= *666"
            action = "deny"
            "#,
        );
        let (first, _) = judge.judge("SELECT * FROM t WHERE id = 1").unwrap();
        assert_eq!(first.decision, Decision::Allow);
        let (second, _) = judge.judge("SELECT * FROM t WHERE id = 666").unwrap();
        assert!(
            matches!(second.decision, Decision::Deny { .. }),
            "{:?}",
            second.decision
        );
    }

    #[test]
    fn every_mask_plan_field_converts_to_the_masking_configuration() {
        let plan = MaskPlan {
            mask: MaskSection {
                default_style: MaskStyle::Redact,
                detectors: BTreeMap::from([
                    (Detector::Email, MaskStyle::Hash),
                    (Detector::CardNumber, MaskStyle::Keep),
                ]),
                columns: vec![ColumnRule {
                    table: "users".into(),
                    column: "ssn".into(),
                    style: MaskStyle::Partial,
                }],
                name_heuristics: false,
            },
            from_rulesets: vec!["a".into()],
        };
        let config = mask_config(&plan);
        assert_eq!(config.default_style, sluice_mask::MaskStyle::Redact);
        assert_eq!(
            config.detectors.get(&sluice_mask::DetectorKind::Email),
            Some(&sluice_mask::MaskStyle::Hash)
        );
        assert_eq!(
            config.detectors.get(&sluice_mask::DetectorKind::CardNumber),
            Some(&sluice_mask::MaskStyle::Keep)
        );
        assert_eq!(config.columns.len(), 1);
        assert_eq!(config.columns[0].table, "users");
        assert!(!config.name_heuristics);
    }

    #[test]
    fn cursor_lineage_is_bounded_and_loses_nothing_past_the_bound() {
        use sluice_policy::sql::pg::{ColumnRead, DerivedColumn};
        let column = |i: usize| DerivedColumn {
            name: Some(format!("c{i}")),
            reads: [ColumnRead::Column(format!("r{i}"))].into_iter().collect(),
        };
        let mut cursors = CursorLineage::default();
        let all: Vec<_> = (0..CURSOR_COLUMNS + 10).map(column).collect();
        cursors.declared(&all);
        // Declaring the same again adds nothing.
        cursors.declared(&all[..5]);
        let sources = cursors.sources();
        assert_eq!(sources.derived.len(), CURSOR_COLUMNS);
        assert_eq!(sources.every_column.len(), 10);
        assert!(sources
            .every_column
            .contains(&ColumnRead::Column(format!("r{}", CURSOR_COLUMNS + 9))));
        // Built once until something changes.
        assert!(Arc::ptr_eq(&sources, &cursors.sources()));
        cursors.declared(&[column(CURSOR_COLUMNS + 20)]);
        assert!(!Arc::ptr_eq(&sources, &cursors.sources()));
    }
}
