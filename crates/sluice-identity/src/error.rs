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
    /// A token from an identity provider was refused. The reason is for logs; the text shown is deliberately generic
    /// so that a client learns nothing about which check failed.
    #[error("the identity token was not accepted")]
    TokenRejected(crate::oidc::Rejection),
    /// An identity provider could not be reached or answered something unusable (discovery, JWKS, token endpoint).
    #[error("the identity provider `{provider}` is unavailable: {reason}")]
    ProviderUnavailable {
        /// The configured provider name.
        provider: String,
        /// What went wrong (URLs and statuses only, never tokens or secrets).
        reason: String,
    },
    /// A configured provider has not been discovered yet (it was unreachable when the gateway started and is being
    /// retried in the background). Safe to show: the provider list is public, and nothing about the failure is in it.
    #[error("the identity provider `{provider}` is unavailable; try again later")]
    ProviderNotDiscovered {
        /// The configured provider name.
        provider: String,
    },
    /// A login flow ended without an identity: the provider refused, the user took too long, or the redirect did
    /// not belong to this login.
    #[error("login failed: {reason}")]
    LoginFailed {
        /// Phrased for the person logging in.
        reason: String,
    },
}
