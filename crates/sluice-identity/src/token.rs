//! API tokens: minting, hashing and recognising them.
//!
//! A token reads `slc_<43 chars: 32 random bytes, base64url>` followed by a 6-character checksum. The prefix makes a
//! leaked token recognisable to secret scanners and to people; the checksum lets the API reject a mistyped or
//! truncated token without a store lookup. Only the SHA-256 of the whole text is stored ([`TokenHash`]): a stolen
//! database yields no usable token, and since the token carries 256 bits of entropy a fast hash is enough (a slow
//! password hash would only slow down every request).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use sluice_model::Secret;
use std::fmt;
use zeroize::Zeroize;

use crate::IdentityError;

/// The fixed start of every sluice token.
pub const TOKEN_PREFIX: &str = "slc_";

/// Number of random bytes in a token: 256 bits, beyond brute force.
const RANDOM_BYTES: usize = 32;
/// Length of the base64url text of [`RANDOM_BYTES`] without padding.
const BODY_LEN: usize = 43;
/// Bytes of SHA-256 kept as checksum; 4 bytes catch typos with odds of 1 in 4 billion.
const CHECKSUM_BYTES: usize = 4;
/// Length of the base64url text of [`CHECKSUM_BYTES`] without padding.
const CHECKSUM_LEN: usize = 6;
/// Total length of a token's text.
const TOKEN_LEN: usize = TOKEN_PREFIX.len() + BODY_LEN + CHECKSUM_LEN;
/// How many characters after the prefix [`display_prefix`] keeps.
const DISPLAY_CHARS: usize = 8;

/// SHA-256 of a token's full text: what the store keeps and looks tokens up by.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// The raw digest bytes, as stored.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    /// Shows only the first four bytes: enough to tell hashes apart in a test failure, too little to matter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(")?;
        for byte in self.0.iter().take(4) {
            write!(f, "{byte:02x}")?;
        }
        f.write_str("…)")
    }
}

/// Creates a new token from the operating system's random number generator.
///
/// Returns the token text (to show the user exactly once) and its hash (to store).
pub fn mint() -> Result<(Secret<String>, TokenHash), IdentityError> {
    let mut random = [0u8; RANDOM_BYTES];
    getrandom::fill(&mut random).map_err(|_| IdentityError::Randomness)?;
    let mut text = String::with_capacity(TOKEN_LEN);
    text.push_str(TOKEN_PREFIX);
    URL_SAFE_NO_PAD.encode_string(random, &mut text);
    random.zeroize();
    let checksum = checksum(&text);
    text.push_str(&checksum);
    let hash = hash(&text);
    Ok((Secret::new(text), hash))
}

/// The hash under which a token is stored and looked up.
pub fn hash(token: &str) -> TokenHash {
    TokenHash(Sha256::digest(token.as_bytes()).into())
}

/// Whether `s` has the shape of a sluice token: prefix, length, alphabet and a matching checksum.
///
/// A `false` means the text cannot be a token sluice issued, so the caller can answer "malformed token" without
/// touching the store. A `true` says nothing about whether the token exists, is expired or revoked.
pub fn looks_like_token(s: &str) -> bool {
    if s.len() != TOKEN_LEN || !s.starts_with(TOKEN_PREFIX) {
        return false;
    }
    let Some(rest) = s.get(TOKEN_PREFIX.len()..) else {
        return false;
    };
    if !rest.bytes().all(is_base64url) {
        return false;
    }
    match (
        s.get(..TOKEN_PREFIX.len() + BODY_LEN),
        s.get(TOKEN_PREFIX.len() + BODY_LEN..),
    ) {
        (Some(unchecked), Some(given)) => checksum(unchecked) == given,
        _ => false,
    }
}

/// A short, non-secret label for a token: the prefix and the first eight characters after it (`slc_AbCd1234`).
///
/// Safe to store and show in listings, so a person can match a token in their password manager to a row in
/// `sluice token list`. Eight base64 characters are 48 of the token's 256 random bits; the rest stays unknown.
/// Text that is not a sluice token yields only what it has of those characters.
pub fn display_prefix(token: &str) -> String {
    token.chars().take(TOKEN_PREFIX.len() + DISPLAY_CHARS).collect()
}

/// The checksum characters for the prefix and body of a token.
fn checksum(prefix_and_body: &str) -> String {
    let digest = Sha256::digest(prefix_and_body.as_bytes());
    let head = digest.get(..CHECKSUM_BYTES).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(head)
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_have_the_prefix_the_length_and_a_valid_checksum() {
        let (token, hash_value) = mint().unwrap();
        let text = token.expose();
        assert!(text.starts_with(TOKEN_PREFIX));
        assert_eq!(text.len(), TOKEN_LEN);
        assert!(looks_like_token(text));
        assert_eq!(hash(text), hash_value);
    }

    #[test]
    fn two_minted_tokens_differ() {
        let (a, ha) = mint().unwrap();
        let (b, hb) = mint().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_ne!(ha, hb);
    }

    #[test]
    fn a_single_changed_character_fails_the_checksum() {
        let (token, _) = mint().unwrap();
        let text = token.expose().clone();
        for position in TOKEN_PREFIX.len()..text.len() {
            let mut bytes = text.clone().into_bytes();
            bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
            let typo = String::from_utf8(bytes).unwrap();
            assert!(!looks_like_token(&typo), "typo at {position} was accepted");
        }
    }

    #[test]
    fn truncated_prefixed_or_foreign_text_is_not_a_token() {
        let (token, _) = mint().unwrap();
        let text = token.expose();
        assert!(!looks_like_token(&text[..text.len() - 1]));
        assert!(!looks_like_token(&format!("{text}x")));
        assert!(!looks_like_token(&text.replacen(TOKEN_PREFIX, "slx_", 1)));
        assert!(!looks_like_token(""));
        assert!(!looks_like_token("Bearer something"));
        let non_ascii = format!("{}é{}", TOKEN_PREFIX, &text[TOKEN_PREFIX.len() + 2..]);
        assert!(!looks_like_token(&non_ascii));
    }

    #[test]
    fn hash_is_sha256_of_the_full_text() {
        // Known answer: SHA-256("abc").
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let hex: String = hash("abc").0.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
    }

    #[test]
    fn display_prefix_keeps_eight_characters_after_the_prefix() {
        let (token, _) = mint().unwrap();
        let text = token.expose();
        let shown = display_prefix(text);
        assert_eq!(shown.len(), TOKEN_PREFIX.len() + 8);
        assert!(text.starts_with(&shown));
        assert_eq!(display_prefix("slc_ab"), "slc_ab");
    }

    #[test]
    fn debug_of_a_hash_shows_only_four_bytes() {
        let h = hash("slc_whatever");
        let shown = format!("{h:?}");
        let full_hex: String = h.0.iter().map(|b| format!("{b:02x}")).collect();
        assert!(shown.contains(&full_hex[..8]));
        assert!(!shown.contains(&full_hex[..10]));
    }
}
