//! [`Masker`]: a [`MaskConfig`] compiled once (trigger automaton, globs, hash key) and shared by every session.

use std::borrow::Cow;
use std::sync::Arc;

use crate::columns::{self, ColumnMask, CompiledRule};
use crate::config::{DetectorKind, MaskConfig, MaskStyle};
use crate::error::MaskError;
use crate::render::Renderer;
use crate::scan::{kind_index, resolve, Edges, Finding, PemBody, Scanner, Text, SHORT_INPUT};
use crate::segment::{LazySink, SegmentState};
use crate::stream::StreamMasker;

/// Shortest accepted hash key: 128 bits, so that tokens cannot be reversed by hashing guesses.
pub const MIN_HASH_KEY_LEN: usize = 16;

/// A compiled masking configuration. Cloning is cheap (one `Arc`); share one per policy snapshot.
#[derive(Debug, Clone)]
pub struct Masker {
    inner: Arc<Compiled>,
}

/// The compiled parts, shared by clones and by stream maskers.
#[derive(Debug)]
pub(crate) struct Compiled {
    scanner: Scanner,
    styles: [MaskStyle; DetectorKind::ALL.len()],
    rules: Vec<CompiledRule>,
    name_heuristics: bool,
    renderer: Renderer,
}

impl Masker {
    /// Validates and compiles `config`. `hash_key` keys the `hash` style; it must be at least
    /// [`MIN_HASH_KEY_LEN`] bytes when any rule uses that style, and may be empty otherwise.
    pub fn new(config: &MaskConfig, hash_key: &[u8]) -> Result<Masker, MaskError> {
        if config.uses_hash() && hash_key.len() < MIN_HASH_KEY_LEN {
            return Err(MaskError::HashKeyTooShort {
                min: MIN_HASH_KEY_LEN,
            });
        }
        let styles = columns::style_table(config);
        let enabled = styles.map(|s| s != MaskStyle::Keep);
        let scanner = Scanner::new(enabled).map_err(|_| MaskError::Automaton)?;
        let rules = columns::compile_rules(&config.columns)?;
        let renderer = Renderer::new(Some(hash_key));
        let inner = Compiled {
            scanner,
            styles,
            rules,
            name_heuristics: config.name_heuristics,
            renderer,
        };
        Ok(Masker {
            inner: Arc::new(inner),
        })
    }

    /// How values of `table.column` are masked. Resolve once per result column and use [`Masker::mask_with`] per
    /// cell. `table` is `None` when unknown (computed columns, JSON keys): then only `table = "*"` rules apply.
    pub fn column_mask(&self, table: Option<&str>, column: Option<&str>) -> ColumnMask {
        let inner = &self.inner;
        columns::resolve(
            &inner.rules,
            inner.name_heuristics,
            |k| inner.style(k),
            table,
            column,
        )
    }

    /// How values of a column named `column` are masked when its table is not known (a cursor's FETCH, a result
    /// the gateway cannot attribute to the tables its statement names): the strictest rule any table has for that
    /// column name, so that not knowing the table never loosens masking.
    pub fn column_mask_any_table(&self, column: &str) -> ColumnMask {
        let inner = &self.inner;
        columns::resolve_any_table(&inner.rules, inner.name_heuristics, |k| inner.style(k), column)
    }

    /// How a whole row of `table` is masked as one value (`row_to_json(t)`): the strictest rule of any of its
    /// columns, else content detection.
    pub fn row_mask(&self, table: &str) -> ColumnMask {
        columns::resolve_row(&self.inner.rules, table)
    }

    /// The stricter of two masks: a whole-value mask over detection over keeping, and among whole-value masks
    /// `Redact` over `Hash` over `Partial`.
    pub fn stricter(a: ColumnMask, b: ColumnMask) -> ColumnMask {
        let rank = |m: ColumnMask| match m {
            ColumnMask::Keep => 0,
            ColumnMask::Detect => 1,
            ColumnMask::Whole(style) => 2 + columns::strictness(style),
        };
        if rank(b) > rank(a) {
            b
        } else {
            a
        }
    }

    /// Masks one result cell: column rules first, then the column-name heuristic, then content detection.
    pub fn mask_value<'a>(&self, table: Option<&str>, column: Option<&str>, value: &'a str) -> Cow<'a, str> {
        self.mask_with(self.column_mask(table, column), value)
    }

    /// Masks one value according to an already resolved [`ColumnMask`].
    pub fn mask_with<'a>(&self, mask: ColumnMask, value: &'a str) -> Cow<'a, str> {
        match mask {
            ColumnMask::Keep => Cow::Borrowed(value),
            ColumnMask::Detect => self.mask_text(value),
            ColumnMask::Whole(_) if value.is_empty() => Cow::Borrowed(value),
            // Already masked (by this rule on an earlier pass, or upstream): masking is idempotent.
            ColumnMask::Whole(_) if crate::render::is_shaped_mask_output(value.trim().as_bytes()) => {
                Cow::Borrowed(value)
            }
            ColumnMask::Whole(style) => {
                let mut out = Vec::new();
                self.inner.render_whole(style, value.as_bytes(), &mut out);
                Cow::Owned(bytes_to_string(out))
            }
        }
    }

    /// Masks whatever the detectors find in free text.
    pub fn mask_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let bytes = text.as_bytes();
        let mut findings = Vec::new();
        if self.inner.find_short(bytes, &mut findings) {
            if findings.is_empty() {
                return Cow::Borrowed(text);
            }
            let mut out = Vec::with_capacity(bytes.len() + 8);
            self.inner.render_segment(bytes, &findings, &mut out);
            return Cow::Owned(bytes_to_string(out));
        }
        match self.mask_bytes(bytes) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(bytes) => Cow::Owned(bytes_to_string(bytes)),
        }
    }

    /// Masks whatever the detectors find in bytes that need not be UTF-8. Equal to feeding the bytes to a
    /// [`StreamMasker`] in one chunk and finishing it.
    pub fn mask_bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let mut sink = LazySink::new(bytes);
        let mut state = SegmentState::default();
        state.process(&self.inner, bytes, true, &mut sink);
        match sink.into_output() {
            Some(out) => Cow::Owned(out),
            None => Cow::Borrowed(bytes),
        }
    }

    /// A stream masker for one terminal session.
    pub fn stream(&self) -> StreamMasker {
        StreamMasker::new(Arc::clone(&self.inner))
    }
}

/// Moves findings from stripped-text offsets to offsets in the original segment.
fn map_back(stripped: &crate::ansi::Stripped, findings: &mut [Finding]) {
    for f in findings {
        let (start, end) = stripped.origin_range(f.start, f.end);
        f.guard = stripped.origin(f.guard).min(start);
        f.start = start;
        f.end = end;
    }
}

/// Masked output of a `str` is UTF-8: findings start and end on ASCII bytes and replacements are ASCII. The lossy
/// conversion is only a guard that can never fire.
fn bytes_to_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

impl Compiled {
    /// The style in force for `kind`.
    pub(crate) fn style(&self, kind: DetectorKind) -> MaskStyle {
        self.styles
            .get(kind_index(kind))
            .copied()
            .unwrap_or(MaskStyle::Redact)
    }

    /// Finds, resolves and returns the findings of one segment, updating the PEM continuation state.
    pub(crate) fn find(&self, seg: &[u8], edges: Edges, pem: &mut PemBody, findings: &mut Vec<Finding>) {
        if !crate::ansi::has_escape(seg) {
            return self.find_plain(seg, edges, pem, findings);
        }
        // Detect on the text without escape sequences, then map the findings back.
        let stripped = crate::ansi::strip(seg);
        self.find_plain(&stripped.text, edges, pem, findings);
        map_back(&stripped, findings);
    }

    fn find_plain(&self, seg: &[u8], edges: Edges, pem: &mut PemBody, findings: &mut Vec<Finding>) {
        findings.clear();
        if *pem == PemBody::Open && self.style(DetectorKind::PemPrivateKey) != MaskStyle::Keep {
            let end = crate::scan::pem_body_end(seg, 0);
            if end > 0 {
                findings.push(Finding {
                    start: 0,
                    end,
                    guard: 0,
                    kind: DetectorKind::PemPrivateKey,
                });
            }
        }
        self.scanner.scan(Text::new(seg, edges), false, findings);
        resolve(findings);
        *pem = match findings.last() {
            Some(f) if f.kind == DetectorKind::PemPrivateKey && f.end == seg.len() => PemBody::Open,
            _ => PemBody::Closed,
        };
    }

    /// Findings for choosing a cut point: every candidate, unresolved, without touching the real PEM state.
    pub(crate) fn find_all(&self, seg: &[u8], edges: Edges, pem: PemBody, findings: &mut Vec<Finding>) {
        if !crate::ansi::has_escape(seg) {
            return self.find_all_plain(seg, edges, pem, findings);
        }
        let stripped = crate::ansi::strip(seg);
        self.find_all_plain(&stripped.text, edges, pem, findings);
        map_back(&stripped, findings);
    }

    fn find_all_plain(&self, seg: &[u8], edges: Edges, pem: PemBody, findings: &mut Vec<Finding>) {
        findings.clear();
        if pem == PemBody::Open {
            let end = crate::scan::pem_body_end(seg, 0);
            findings.push(Finding {
                start: 0,
                end,
                guard: 0,
                kind: DetectorKind::PemPrivateKey,
            });
        }
        self.scanner.scan(Text::new(seg, edges), false, findings);
    }

    /// Appends `seg` with its (resolved) findings masked.
    pub(crate) fn render_segment(&self, seg: &[u8], findings: &[Finding], out: &mut Vec<u8>) {
        let mut pos = 0usize;
        for f in findings {
            out.extend_from_slice(seg.get(pos..f.start).unwrap_or(&[]));
            let value = seg.get(f.start..f.end).unwrap_or(&[]);
            self.renderer.render(Some(f.kind), self.style(f.kind), value, out);
            pos = f.end;
        }
        out.extend_from_slice(seg.get(pos..).unwrap_or(&[]));
    }

    /// Findings (resolved) in a short single value — most result cells — with one pass of the single short-input
    /// automaton and no segmentation; `false`, with nothing found, when `value` is not one (long, several lines, or
    /// with terminal escapes), which takes the segmenting search. Starting the split searches costs more than
    /// scanning a cell: a column masked whole went that way for every row and spent most of a masked stream's time
    /// in the prefilters' short-haystack fallback.
    fn find_short(&self, value: &[u8], findings: &mut Vec<Finding>) -> bool {
        if value.len() >= SHORT_INPUT || value.contains(&b'\n') || crate::ansi::has_escape(value) {
            return false;
        }
        self.scanner
            .scan(Text::new(value, Edges::default()), true, findings);
        resolve(findings);
        true
    }

    /// Renders a whole value for a column rule: in the shape of the one kind it is, if the detectors recognise
    /// all of it as one value; otherwise as an opaque value.
    fn render_whole(&self, style: MaskStyle, value: &[u8], out: &mut Vec<u8>) {
        let trimmed = value.trim_ascii();
        let mut findings = Vec::new();
        if !self.find_short(trimmed, &mut findings) {
            let mut pem = PemBody::Closed;
            self.find(trimmed, Edges::default(), &mut pem, &mut findings);
        }
        let kind = match findings.as_slice() {
            [f] if f.start == 0 && f.end == trimmed.len() => Some(f.kind),
            _ => None,
        };
        self.renderer.render(kind, style, trimmed, out);
    }
}
