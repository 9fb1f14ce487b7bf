//! The crate's single error type. Every `Display` text is safe to show to a client: none contains a token.

/// Everything that can go wrong in `sluice-identity`.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A lifetime such as `12h` or `1h30m` could not be read.
    #[error("invalid duration `{input}`: {reason}")]
    InvalidDuration {
        /// The text as given (durations are not secret).
        input: String,
        /// What exactly is wrong with it, phrased for a person.
        reason: String,
    },
    /// The operating system could not supply random bytes, so no credential can be minted safely.
    #[error("the system random number generator failed; no token was created")]
    Randomness,
}
