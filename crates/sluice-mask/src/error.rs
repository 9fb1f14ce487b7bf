//! The crate's error type: problems with a masking configuration, found when it is compiled.
//!
//! Masking itself never fails (any input, including invalid UTF-8, is masked or passed through), so these errors
//! only come from [`crate::Masker::new`]. Their texts name the offending rule but never a key or a value.

use thiserror::Error;

/// Why a [`crate::MaskConfig`] could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MaskError {
    /// A `hash` style is configured but the hash key is too short to keep dictionary attacks out.
    #[error("the hash mask style needs a key of at least {min} bytes")]
    HashKeyTooShort {
        /// Minimum key length in bytes.
        min: usize,
    },
    /// A column rule has an empty table or column glob.
    #[error("mask column rule {index}: the {field} pattern is empty")]
    EmptyPattern {
        /// Position of the rule in `columns` (0-based).
        index: usize,
        /// `table` or `column`.
        field: &'static str,
    },
    /// The trigger automaton could not be built (a bug: its patterns are fixed).
    #[error("the masking detectors could not be compiled")]
    Automaton,
}
