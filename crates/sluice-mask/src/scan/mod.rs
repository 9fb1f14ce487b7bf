//! Finding sensitive values in one segment of text (a line, a cell, or a window of a long line).
//!
//! Cheap passes find candidates, then validators decide: `memchr` for `@` and `://`, small Aho-Corasick automata
//! over literal triggers (`AKIA`, `ghp_`, `eyJ`, `assw` of `password`, `-----BEGIN `, ...) and a word-at-a-time scan for digit runs
//! (cards, SSNs, phone numbers, IBAN check digits). Running fifteen regexes over every byte would cost ten times
//! more; validators only run where a trigger fired.
//!
//! Offsets are byte offsets into the segment. Every finding starts and ends on an ASCII byte, so slicing a `str`
//! at them is always valid.

mod keyed;
mod numeric;
mod pem;
mod tokens;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::config::DetectorKind;

pub(crate) use pem::{pem_body_end, PemBody};
pub(crate) use tokens::public_prefix_len;

/// A sensitive value found in a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Finding {
    /// First byte to mask.
    pub start: usize,
    /// One past the last byte to mask.
    pub end: usize,
    /// Start of the context that made the value recognisable (a `password=` key, an `ssn:` label, a URL scheme).
    /// A stream may not be cut between `guard` and `end`, or the value would lose its context.
    pub guard: usize,
    /// What was found.
    pub kind: DetectorKind,
}

impl Finding {
    fn new(start: usize, end: usize, kind: DetectorKind) -> Finding {
        Finding {
            start,
            end,
            guard: start,
            kind,
        }
    }

    fn guarded(guard: usize, start: usize, end: usize, kind: DetectorKind) -> Finding {
        Finding {
            start,
            end,
            guard: guard.min(start),
            kind,
        }
    }
}

/// The bytes just outside a segment, so that a value cut at a segment edge is not mistaken for a whole one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Edges {
    /// The byte before the segment, if any.
    pub before: Option<u8>,
    /// The byte after the segment, if known.
    pub after: Option<u8>,
}

/// A segment being scanned, with its edges: bounds-checked access that treats the outside as the edge bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Text<'a> {
    pub bytes: &'a [u8],
    pub edges: Edges,
}

impl<'a> Text<'a> {
    pub(crate) fn new(bytes: &'a [u8], edges: Edges) -> Text<'a> {
        Text { bytes, edges }
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The byte at `i`, or `None` past the end.
    pub(crate) fn at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    /// The byte before position `i` (the edge byte at position 0).
    pub(crate) fn before(&self, i: usize) -> Option<u8> {
        match i.checked_sub(1) {
            Some(j) => self.bytes.get(j).copied(),
            None => self.edges.before,
        }
    }

    /// The byte at `i`, or the edge byte after the segment when `i` is its end.
    pub(crate) fn after(&self, i: usize) -> Option<u8> {
        if i >= self.bytes.len() {
            self.edges.after
        } else {
            self.bytes.get(i).copied()
        }
    }

    /// Length of the run starting at `i` whose bytes satisfy `pred`, at most `max`.
    pub(crate) fn run(&self, i: usize, max: usize, pred: impl Fn(u8) -> bool) -> usize {
        let Some(rest) = self.bytes.get(i..) else { return 0 };
        let rest = rest.get(..max.min(rest.len())).unwrap_or(rest);
        rest.iter().position(|b| !pred(*b)).unwrap_or(rest.len())
    }

    /// Length of the run ending just before `i` whose bytes satisfy `pred`, at most `max`.
    pub(crate) fn run_back(&self, i: usize, max: usize, pred: impl Fn(u8) -> bool) -> usize {
        self.bytes.get(..i).map_or(0, |head| {
            head.iter().rev().take(max).take_while(|b| pred(**b)).count()
        })
    }

    /// Whether the bytes at `i` equal `lit` exactly.
    pub(crate) fn starts_with_at(&self, i: usize, lit: &[u8]) -> bool {
        self.bytes.get(i..).is_some_and(|rest| rest.starts_with(lit))
    }

    /// Whether the bytes at `i` equal `lit` ignoring ASCII case.
    pub(crate) fn starts_with_at_ci(&self, i: usize, lit: &[u8]) -> bool {
        self.bytes
            .get(i..i.saturating_add(lit.len()))
            .is_some_and(|s| s.eq_ignore_ascii_case(lit))
    }
}

/// Letters, digits and `_`: bytes that continue an identifier or a token.
pub(crate) fn is_word(b: u8) -> bool {
    WORD_BYTES.get(usize::from(b)).copied().unwrap_or(false)
}

/// [`is_word`] as a table: it runs on every byte of every word that contains a digit.
// Indexing is bounded by the loop (`b < 256` on a 256-entry table); `get_mut` is not usable in a const block.
#[allow(clippy::indexing_slicing)]
static WORD_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    table
};

/// Whether `b` (a neighbouring byte, `None` at the very start or end) does not continue a token.
pub(crate) fn is_boundary(b: Option<u8>) -> bool {
    !b.is_some_and(|b| b.is_ascii_alphanumeric())
}

/// What a literal trigger asks to be validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// `@` of an e-mail address (only in the short-input automaton; long inputs use `memchr`).
    At,
    /// `://` of a URL (likewise).
    Scheme,
    PemBegin,
    Token(tokens::TokenPrefix),
    Jwt,
    /// A fragment of a secret key word; the validator finds the whole key around it.
    SecretKey,
    /// `earer ` (the `b` may be either case).
    Bearer,
    /// `dentified by` (the `i` may be either case).
    IdentifiedBy,
}

/// Case-sensitive triggers: vendor prefixes, JWTs, PEM headers.
const EXACT_TRIGGERS: &[(&str, Trigger)] = &[("-----BEGIN ", Trigger::PemBegin), ("eyJ", Trigger::Jwt)];

/// Key-word fragments without their first letter, searched as written and in upper case: `assw` finds
/// `password`, `Password`, `DB_PASSWORD`; camelCase humps are listed (`piKey`). The validator expands the fragment
/// to the whole key and checks it case-insensitively, so only mixed spellings like `PassWord` are missed.
const KEY_FRAGMENTS: &[(&str, Trigger)] = &[
    ("assw", Trigger::SecretKey),
    ("assphrase", Trigger::SecretKey),
    ("pwd", Trigger::SecretKey),
    ("Pwd", Trigger::SecretKey),
    ("ecret", Trigger::SecretKey),
    ("oken", Trigger::SecretKey),
    ("pikey", Trigger::SecretKey),
    ("piKey", Trigger::SecretKey),
    ("pi_key", Trigger::SecretKey),
    ("pi-key", Trigger::SecretKey),
    ("pi-Key", Trigger::SecretKey),
    ("ccesskey", Trigger::SecretKey),
    ("ccessKey", Trigger::SecretKey),
    ("ccess_key", Trigger::SecretKey),
    ("ccess-key", Trigger::SecretKey),
    ("ccess-Key", Trigger::SecretKey),
    ("rivatekey", Trigger::SecretKey),
    ("rivateKey", Trigger::SecretKey),
    ("rivate_key", Trigger::SecretKey),
    ("rivate-key", Trigger::SecretKey),
    ("uthorization", Trigger::SecretKey),
    ("earer ", Trigger::Bearer),
    ("dentified by", Trigger::IdentifiedBy),
];

/// Single values shorter than this (most result cells) are scanned by the single short-input automaton.
pub(crate) const SHORT_INPUT: usize = 48;

/// One literal automaton and what each of its patterns triggers.
#[derive(Debug, Clone)]
struct TriggerSet {
    automaton: AhoCorasick,
    triggers: Vec<Trigger>,
}

impl TriggerSet {
    fn new(patterns: Vec<(String, Trigger)>, dfa: bool) -> Result<TriggerSet, aho_corasick::BuildError> {
        let mut unique: Vec<(String, Trigger)> = Vec::with_capacity(patterns.len());
        for p in patterns {
            if !unique.iter().any(|(q, _)| *q == p.0) {
                unique.push(p);
            }
        }
        let mut builder = AhoCorasickBuilder::new();
        builder.match_kind(MatchKind::LeftmostFirst);
        if dfa {
            builder.kind(Some(AhoCorasickKind::DFA)).prefilter(false);
        }
        let automaton = builder.build(unique.iter().map(|(p, _)| p.as_str()))?;
        Ok(TriggerSet {
            automaton,
            triggers: unique.into_iter().map(|(_, t)| t).collect(),
        })
    }
}

/// The compiled trigger automata and the set of enabled detectors.
///
/// The triggers are split over small automata (each under ~30 exact patterns) because that is what lets
/// Aho-Corasick use its SIMD (Teddy) prefilter: one automaton with all ~80 spellings, or one case-insensitive
/// automaton, runs at under 300 MB/s; these run at several GB/s each. Short inputs (most result cells) are
/// different: there the fixed cost of starting five searches dominates, so single short values take one pass of a
/// single DFA over every trigger instead (see [`Scanner::scan`]).
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    sets: [TriggerSet; 3],
    short: TriggerSet,
    scheme: memchr::memmem::Finder<'static>,
    enabled: [bool; DetectorKind::ALL.len()],
}

/// Index of a kind in [`DetectorKind::ALL`].
pub(crate) fn kind_index(kind: DetectorKind) -> usize {
    DetectorKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

impl Scanner {
    /// Builds the scanner for the given enabled kinds.
    pub(crate) fn new(enabled: [bool; DetectorKind::ALL.len()]) -> Result<Scanner, aho_corasick::BuildError> {
        let exact: Vec<(String, Trigger)> = EXACT_TRIGGERS
            .iter()
            .map(|(p, t)| ((*p).to_owned(), *t))
            .chain(
                tokens::PREFIXES
                    .iter()
                    .map(|(p, t)| ((*p).to_owned(), Trigger::Token(*t))),
            )
            .collect();
        let lower: Vec<(String, Trigger)> =
            KEY_FRAGMENTS.iter().map(|(p, t)| ((*p).to_owned(), *t)).collect();
        let upper: Vec<(String, Trigger)> = KEY_FRAGMENTS
            .iter()
            .map(|(p, t)| (p.to_ascii_uppercase(), *t))
            .collect();
        let all = [("@".to_owned(), Trigger::At), ("://".to_owned(), Trigger::Scheme)]
            .into_iter()
            .chain(exact.iter().cloned())
            .chain(lower.iter().cloned())
            .chain(upper.iter().cloned())
            .collect();
        Ok(Scanner {
            sets: [
                TriggerSet::new(exact, false)?,
                TriggerSet::new(lower, false)?,
                TriggerSet::new(upper, false)?,
            ],
            short: TriggerSet::new(all, true)?,
            scheme: memchr::memmem::Finder::new(b"://"),
            enabled,
        })
    }

    fn on(&self, kind: DetectorKind) -> bool {
        self.enabled.get(kind_index(kind)).copied().unwrap_or(false)
    }

    /// Finds every enabled kind in `text`, overlapping findings included (see [`resolve`]).
    ///
    /// `short` selects the single-automaton search for a short single value; segments of a text always use the
    /// split search, so that how a text is segmented never changes which search finds its triggers.
    pub(crate) fn scan(&self, text: Text<'_>, short: bool, out: &mut Vec<Finding>) {
        let first = out.len();
        let bytes = text.bytes;
        if short {
            self.run_set(&self.short, text, out);
        } else {
            if self.on(DetectorKind::Email) {
                out.extend(memchr::memchr_iter(b'@', bytes).filter_map(|at| tokens::email(text, at)));
            }
            if self.on(DetectorKind::UrlPassword) {
                out.extend(
                    self.scheme
                        .find_iter(bytes)
                        .filter_map(|at| keyed::url_password(text, at)),
                );
            }
            for set in &self.sets {
                self.run_set(set, text, out);
            }
        }
        numeric::scan_digits(text, &self.enabled, out);
        if out.len() > first + 1 {
            if let Some(tail) = out.get_mut(first..) {
                tail.sort_unstable_by_key(|f| {
                    (
                        f.start,
                        std::cmp::Reverse(priority(f.kind)),
                        std::cmp::Reverse(f.end),
                        f.guard,
                        f.kind,
                    )
                });
            }
        }
    }

    /// Validates the triggers of one automaton in `text`, skipping those inside a value already found.
    ///
    /// Skipping cannot make the result depend on segmentation: no trigger spans a line break, and the only
    /// findings that do (PEM bodies) win every overlap anyway.
    fn run_set(&self, set: &TriggerSet, text: Text<'_>, out: &mut Vec<Finding>) {
        let mut skip_until = 0usize;
        for m in set.automaton.find_iter(text.bytes) {
            if m.start() < skip_until {
                continue;
            }
            let Some(&trigger) = set.triggers.get(m.pattern().as_usize()) else {
                continue;
            };
            let Some(f) = self.validate(text, trigger, m.start(), m.end()) else {
                continue;
            };
            if self.on(f.kind) {
                skip_until = f.end;
                out.push(f);
            } else if f.kind == DetectorKind::AwsSecretKey && self.on(DetectorKind::GenericSecret) {
                // An AWS secret is still a secret when its own detector is off but generic secrets are on.
                skip_until = f.end;
                out.push(Finding {
                    kind: DetectorKind::GenericSecret,
                    ..f
                });
            }
        }
    }

    fn validate(&self, text: Text<'_>, trigger: Trigger, start: usize, end: usize) -> Option<Finding> {
        match trigger {
            Trigger::At if self.on(DetectorKind::Email) => tokens::email(text, start),
            Trigger::Scheme if self.on(DetectorKind::UrlPassword) => keyed::url_password(text, start),
            Trigger::PemBegin if self.on(DetectorKind::PemPrivateKey) => pem::pem_block(text, start),
            Trigger::Jwt if self.on(DetectorKind::Jwt) => tokens::jwt(text, start),
            Trigger::Token(prefix) if self.on(prefix.kind()) => tokens::prefixed(text, start, prefix),
            Trigger::SecretKey => keyed::secret_after_key(text, start, end),
            Trigger::Bearer => keyed::bearer(text, start.checked_sub(1)?, end),
            Trigger::IdentifiedBy => keyed::identified_by(text, start.checked_sub(1)?, end),
            _ => None,
        }
    }
}

/// Which finding wins when two overlap: specific credentials over generic ones over personal data.
fn priority(kind: DetectorKind) -> u8 {
    match kind {
        DetectorKind::PemPrivateKey => 15,
        DetectorKind::Jwt => 14,
        DetectorKind::AwsAccessKeyId
        | DetectorKind::GithubToken
        | DetectorKind::GitlabToken
        | DetectorKind::SlackToken
        | DetectorKind::StripeKey => 13,
        DetectorKind::AwsSecretKey => 12,
        DetectorKind::UrlPassword => 11,
        DetectorKind::GenericSecret => 10,
        DetectorKind::Iban => 6,
        DetectorKind::CardNumber => 5,
        DetectorKind::UsSsn => 4,
        DetectorKind::Email => 3,
        DetectorKind::Phone => 2,
    }
}

/// Reduces findings sorted by start to a non-overlapping list, keeping the higher-priority one of any overlap.
///
/// Sorted by start, a new finding can only overlap the last kept one (which does not overlap its predecessor),
/// so one sweep suffices.
pub(crate) fn resolve(findings: &mut Vec<Finding>) {
    let mut kept: usize = 0;
    for i in 0..findings.len() {
        let Some(f) = findings.get(i).copied() else { break };
        match kept.checked_sub(1).and_then(|j| findings.get(j).copied()) {
            Some(last) if f.start < last.end => {
                if priority(f.kind) > priority(last.kind) {
                    if let Some(slot) = kept.checked_sub(1).and_then(|j| findings.get_mut(j)) {
                        *slot = f;
                    }
                }
            }
            _ => {
                if let Some(slot) = findings.get_mut(kept) {
                    *slot = f;
                }
                kept += 1;
            }
        }
    }
    findings.truncate(kept);
}
