//! [`StreamMasker`]: masking terminal output that arrives in arbitrary chunks.
//!
//! Output is released segment by segment (see the segment module): complete lines at once, long lines after a
//! safe blank within 320 bytes, blank-free runs after at most 4 KiB. Whatever the chunking, the output equals
//! masking the concatenated input in one piece, so a secret split across two reads is masked all the same.
//!
//! A terminal prompt has no newline and would wait for the window to fill; call [`StreamMasker::flush`] when the
//! target goes quiet (for example after 20-50 ms without output) to release it. A flush is a segment boundary, so
//! a secret still arriving when it is called can only be masked from the flush on.

use std::sync::Arc;

use crate::masker::Compiled;
use crate::segment::{SegmentState, VecSink};

/// Masks one terminal stream. Create with [`crate::Masker::stream`], one per session and direction.
#[derive(Debug)]
pub struct StreamMasker {
    compiled: Arc<Compiled>,
    state: SegmentState,
    pending: Vec<u8>,
}

impl StreamMasker {
    pub(crate) fn new(compiled: Arc<Compiled>) -> StreamMasker {
        StreamMasker {
            compiled,
            state: SegmentState::default(),
            pending: Vec::new(),
        }
    }

    /// Masks what can be decided of `chunk` (with what is held back) and appends it to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let mut sink = VecSink(out);
        if self.pending.is_empty() {
            // The common case: no copy of the chunk, only its undecided tail is kept.
            let used = self.state.process(&self.compiled, chunk, false, &mut sink);
            self.pending.extend_from_slice(chunk.get(used..).unwrap_or(&[]));
        } else {
            self.pending.extend_from_slice(chunk);
            let used = self
                .state
                .process(&self.compiled, &self.pending, false, &mut sink);
            self.pending.drain(..used.min(self.pending.len()));
        }
    }

    /// Releases everything held back, masked as a final segment, without ending the stream.
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        let mut sink = VecSink(out);
        self.state.process(&self.compiled, &self.pending, true, &mut sink);
        self.pending.clear();
    }

    /// Ends the stream: releases everything held back, masked.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        self.flush(out);
    }

    /// Bytes currently held back (at most 4 KiB).
    pub fn held_back(&self) -> usize {
        self.pending.len()
    }
}
