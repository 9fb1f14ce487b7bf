//! Cutting text into independently masked segments, the same way whatever the chunking.
//!
//! A segment is normally a line. A line with no newline within [`WINDOW`] bytes is cut after a blank that no
//! finding straddles (a finding's guard includes its context, so `password: x` is never cut between key and
//! value); a line with no such blank is held until its newline or [`HARD_CAP`] bytes. Every cut depends only on
//! the bytes already seen from the segment start, never on how they were chunked, which is what makes a stream
//! mask exactly like the whole text, and bounds what is held back: [`WINDOW`] bytes normally, [`HARD_CAP`] for
//! blank-free text such as a long token.
//!
//! Consecutive complete lines form one segment (cutting after a newline changes nothing, see `next_cut`).
//!
//! PEM bodies are not held back at all: [`PemBody`] carries "inside a private key" from one segment to the next.

use crate::masker::Compiled;
use crate::scan::{Edges, Finding, PemBody};

/// Bytes of an unterminated line after which a blank cut is chosen.
pub(crate) const WINDOW: usize = 320;
/// Cuts are chosen at least this far from the window end, so a value with blanks (`4111 1111 1111 1111`,
/// `Authorization: Basic …`) near the cut is seen whole by the window scan.
const MARGIN: usize = 64;
/// Most bytes held back for a line without a safe blank (a long token or base64 blob).
pub(crate) const HARD_CAP: usize = 4096;

/// Receives masked segments.
pub(crate) trait Sink {
    /// `seg` starts at `offset` in the processed buffer; `findings` are resolved and sorted.
    fn segment(&mut self, compiled: &Compiled, offset: usize, seg: &[u8], findings: &[Finding]);
}

/// Carry-over between segments: the byte before the next one, and whether a PEM body is open.
#[derive(Debug, Clone, Default)]
pub(crate) struct SegmentState {
    last: Option<u8>,
    pem: PemBody,
    findings: Vec<Finding>,
}

impl SegmentState {
    /// Masks the decided segments of `buf` into `sink` and returns how many bytes were consumed. With `at_end`,
    /// everything is consumed (the rest is the final segment).
    pub(crate) fn process(
        &mut self,
        compiled: &Compiled,
        buf: &[u8],
        at_end: bool,
        sink: &mut impl Sink,
    ) -> usize {
        let mut start = 0usize;
        while let Some(rest) = buf.get(start..).filter(|r| !r.is_empty()) {
            let Some((cut, forced)) = self.next_cut(compiled, rest) else {
                break;
            };
            let after = if forced { rest.get(cut).copied() } else { None };
            self.emit(compiled, start, rest.get(..cut).unwrap_or(rest), after, sink);
            start += cut;
        }
        if at_end {
            if let Some(rest) = buf.get(start..).filter(|r| !r.is_empty()) {
                self.emit(compiled, start, rest, None, sink);
                start = buf.len();
            }
        }
        start
    }

    fn emit(
        &mut self,
        compiled: &Compiled,
        offset: usize,
        seg: &[u8],
        after: Option<u8>,
        sink: &mut impl Sink,
    ) {
        let edges = Edges {
            before: self.last,
            after,
        };
        let mut findings = std::mem::take(&mut self.findings);
        compiled.find(seg, edges, &mut self.pem, &mut findings);
        sink.segment(compiled, offset, seg, &findings);
        self.findings = findings;
        if let Some(&b) = seg.last() {
            self.last = Some(b);
        }
    }

    /// Where the first segment of `rest` ends, if that is decided yet; `forced` cuts are not at a newline.
    fn next_cut(&mut self, compiled: &Compiled, rest: &[u8]) -> Option<(usize, bool)> {
        let head = rest.get(..rest.len().min(WINDOW)).unwrap_or(rest);
        if let Some(n) = memchr::memchr(b'\n', head) {
            // Cuts after newlines are transparent (no detector looks across a newline except PEM bodies, which
            // carry over), so consecutive complete lines are masked as one segment: one scan instead of one per
            // line. A line longer than the window ends the run; it gets the window treatment on its own.
            let mut end = n + 1;
            while let Some(next) = rest
                .get(end..)
                .and_then(|r| memchr::memchr(b'\n', r.get(..r.len().min(WINDOW))?))
            {
                end += next + 1;
            }
            return Some((end, false));
        }
        let window = rest.get(..WINDOW)?;
        if let Some(cut) = self.blank_cut(compiled, window) {
            return Some((cut, true));
        }
        let longer = rest.get(WINDOW..rest.len().min(HARD_CAP)).unwrap_or(&[]);
        if let Some(n) = memchr::memchr(b'\n', longer) {
            return Some((WINDOW + n + 1, false));
        }
        let window = rest.get(..HARD_CAP)?;
        Some((
            self.blank_cut(compiled, window).unwrap_or(HARD_CAP - MARGIN),
            true,
        ))
    }

    /// The last blank in `window` (at most `MARGIN` from its end) that no finding's guarded span contains.
    fn blank_cut(&mut self, compiled: &Compiled, window: &[u8]) -> Option<usize> {
        let mut findings = std::mem::take(&mut self.findings);
        compiled.find_all(
            window,
            Edges {
                before: self.last,
                after: None,
            },
            self.pem,
            &mut findings,
        );
        let limit = window.len().saturating_sub(MARGIN);
        let cut = (1..=limit).rev().find(|&p| {
            window
                .get(p - 1)
                .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r'))
                && !findings.iter().any(|f| f.guard < p && p < f.end.max(f.guard + 1))
        });
        self.findings = findings;
        cut
    }
}

/// A sink that appends every segment, masked, to a buffer (streams).
#[derive(Debug)]
pub(crate) struct VecSink<'a>(pub &'a mut Vec<u8>);

impl Sink for VecSink<'_> {
    fn segment(&mut self, compiled: &Compiled, _offset: usize, seg: &[u8], findings: &[Finding]) {
        compiled.render_segment(seg, findings, self.0);
    }
}

/// A sink over a whole input that only allocates once something is masked (most cells have nothing to mask).
#[derive(Debug)]
pub(crate) struct LazySink<'a> {
    input: &'a [u8],
    out: Option<Vec<u8>>,
}

impl<'a> LazySink<'a> {
    pub(crate) fn new(input: &'a [u8]) -> LazySink<'a> {
        LazySink { input, out: None }
    }

    /// The masked input, or `None` if nothing was masked.
    pub(crate) fn into_output(self) -> Option<Vec<u8>> {
        self.out
    }
}

impl Sink for LazySink<'_> {
    fn segment(&mut self, compiled: &Compiled, offset: usize, seg: &[u8], findings: &[Finding]) {
        match &mut self.out {
            Some(out) => compiled.render_segment(seg, findings, out),
            None if findings.is_empty() => {}
            None => {
                let mut out = Vec::with_capacity(self.input.len() + 16);
                out.extend_from_slice(self.input.get(..offset).unwrap_or(&[]));
                compiled.render_segment(seg, findings, &mut out);
                self.out = Some(out);
            }
        }
    }
}
