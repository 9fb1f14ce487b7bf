//! Taking a compact JWS apart and checking everything that does not need a key: size, shape, header, claims.
//!
//! The checks run in a deliberate order — size before decoding, header before any key lookup, signature (in
//! [`super::keys`]) before any claim is trusted — and each failure is a [`Rejection`], a closed set of reasons that
//! are logged (never the token) while clients only ever see one generic message.

use base64::Engine as _;
use serde_json::{Map, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Tokens longer than this are refused before any decoding: real ID and access tokens are a few KiB, and decoding
/// attacker-sized input only costs memory.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a token was refused. Logged by name; never shown to the client beyond "not accepted".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Longer than [`MAX_TOKEN_BYTES`].
    Oversized,
    /// Not three base64url parts, or a part is not the JSON object it must be.
    Malformed,
    /// `alg` is missing or not on the allow-list (`none` and every HMAC algorithm are never on it).
    UnsupportedAlgorithm,
    /// The header lists `crit` extensions; sluice understands none, so it must refuse (RFC 7515 §4.1.11).
    CriticalHeader,
    /// `cty: JWT`: a token wrapped in a token. Refused rather than unwrapped.
    NestedToken,
    /// No key of the provider has this `kid` (even after refreshing the key set), or none fits the algorithm.
    UnknownKey,
    /// The signature does not verify with the provider's key.
    BadSignature,
    /// `iss` is not exactly the configured issuer.
    WrongIssuer,
    /// `aud` does not contain the client id or configured audience.
    WrongAudience,
    /// `azp` is present (or required, with several audiences) and is not the client id.
    WrongAuthorizedParty,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
    /// A required claim (`sub`, `exp`, `iat` for ID tokens) is missing or has the wrong type.
    MissingClaim,
    /// The ID token's `nonce` is not the one this login sent.
    NonceMismatch,
    /// An access token (`typ: at+jwt`) was presented where an ID token is required: token substitution.
    WrongTokenType,
    /// A provider access token was presented but the provider is not configured to accept them.
    BearerTokensDisabled,
}

impl Rejection {
    /// A stable snake_case name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Oversized => "oversized",
            Rejection::Malformed => "malformed",
            Rejection::UnsupportedAlgorithm => "unsupported_algorithm",
            Rejection::CriticalHeader => "critical_header",
            Rejection::NestedToken => "nested_token",
            Rejection::UnknownKey => "unknown_key",
            Rejection::BadSignature => "bad_signature",
            Rejection::WrongIssuer => "wrong_issuer",
            Rejection::WrongAudience => "wrong_audience",
            Rejection::WrongAuthorizedParty => "wrong_authorized_party",
            Rejection::Expired => "expired",
            Rejection::NotYetValid => "not_yet_valid",
            Rejection::IssuedInFuture => "issued_in_future",
            Rejection::MissingClaim => "missing_claim",
            Rejection::NonceMismatch => "nonce_mismatch",
            Rejection::WrongTokenType => "wrong_token_type",
            Rejection::BearerTokensDisabled => "bearer_tokens_disabled",
        }
    }

    /// The only text a client sees, whatever the reason.
    pub const CLIENT_MESSAGE: &'static str = "the identity token was not accepted";
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signature algorithms sluice accepts. A closed set: anything else, `none` and `HS*` included, is refused
/// while the header is read, before a key is even looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl Algorithm {
    /// The JOSE name, or `None` for anything not on the allow-list.
    pub fn from_jose(name: &str) -> Option<Algorithm> {
        match name {
            "RS256" => Some(Algorithm::Rs256),
            "PS256" => Some(Algorithm::Ps256),
            "ES256" => Some(Algorithm::Es256),
            "EdDSA" => Some(Algorithm::EdDsa),
            _ => None,
        }
    }
}

/// A token whose structure and header passed; its signature is not checked yet.
#[derive(Debug)]
pub(crate) struct Unverified<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    /// `typ` as sent, for telling access tokens (`at+jwt`) from ID tokens.
    pub(crate) typ: Option<String>,
    /// `BASE64URL(header) '.' BASE64URL(payload)`: what the signature covers.
    pub(crate) signing_input: &'a [u8],
    pub(crate) signature: Vec<u8>,
    payload: Vec<u8>,
}

/// Splits and decodes `token`, checking size, shape and header.
pub(crate) fn parse(token: &str) -> Result<Unverified<'_>, Rejection> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Rejection::Oversized);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Rejection::Malformed);
    };
    let header_json = decode_object(header)?;
    let alg = header_json
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Algorithm::from_jose)
        .ok_or(Rejection::UnsupportedAlgorithm)?;
    if header_json.contains_key("crit") {
        return Err(Rejection::CriticalHeader);
    }
    if header_json
        .get("cty")
        .and_then(Value::as_str)
        .is_some_and(|cty| cty.eq_ignore_ascii_case("JWT") || cty.eq_ignore_ascii_case("application/jwt"))
    {
        return Err(Rejection::NestedToken);
    }
    let kid = match header_json.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(Rejection::Malformed),
    };
    let typ = header_json.get("typ").and_then(Value::as_str).map(str::to_owned);
    let signature = decode(signature)?;
    if signature.is_empty() {
        return Err(Rejection::BadSignature);
    }
    let signing_input = token
        .get(..header.len() + 1 + payload.len())
        .ok_or(Rejection::Malformed)?
        .as_bytes();
    let payload = decode(payload)?;
    Ok(Unverified {
        alg,
        kid,
        typ,
        signing_input,
        signature,
        payload,
    })
}

impl Unverified<'_> {
    /// The claims, to be read only after the signature verified.
    pub(crate) fn claims_after_verification(&self) -> Result<Map<String, Value>, Rejection> {
        match serde_json::from_slice(&self.payload) {
            Ok(Value::Object(claims)) => Ok(claims),
            _ => Err(Rejection::Malformed),
        }
    }
}

/// The `iss` a token claims, read without verifying anything: only for choosing which provider validates it (that
/// provider then requires `iss` to be exactly its own). `None` for anything that is not a JWT of acceptable size.
pub fn claimed_issuer(token: &str) -> Option<String> {
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let payload = token.split('.').nth(1)?;
    match serde_json::from_slice::<Value>(&decode(payload).ok()?).ok()? {
        Value::Object(claims) => claims.get("iss")?.as_str().map(str::to_owned),
        _ => None,
    }
}

fn decode(part: &str) -> Result<Vec<u8>, Rejection> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Rejection::Malformed)
}

fn decode_object(part: &str) -> Result<Map<String, Value>, Rejection> {
    match serde_json::from_slice(&decode(part)?) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(Rejection::Malformed),
    }
}

/// What the claims must say, beyond a valid signature.
#[derive(Debug)]
pub(crate) struct ClaimRules<'a> {
    pub(crate) issuer: &'a str,
    /// `aud` must contain this.
    pub(crate) audience: &'a str,
    /// When set, `azp` (if present, or if there are several audiences) must equal it: ID tokens.
    pub(crate) authorized_party: Option<&'a str>,
    /// ID tokens must carry `iat`.
    pub(crate) require_iat: bool,
    pub(crate) nonce: Option<&'a str>,
    pub(crate) leeway: Duration,
    pub(crate) now: SystemTime,
}

/// Checks the registered claims; returns `exp`.
pub(crate) fn check_claims(
    claims: &Map<String, Value>,
    rules: &ClaimRules<'_>,
) -> Result<SystemTime, Rejection> {
    if claims.get("iss").and_then(Value::as_str) != Some(rules.issuer) {
        return Err(Rejection::WrongIssuer);
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&rules.audience) {
        return Err(Rejection::WrongAudience);
    }
    if let Some(party) = rules.authorized_party {
        match claims.get("azp") {
            Some(azp) if azp.as_str() != Some(party) => return Err(Rejection::WrongAuthorizedParty),
            None if audiences.len() > 1 => return Err(Rejection::WrongAuthorizedParty),
            _ => {}
        }
    }
    match claims.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => {}
        _ => return Err(Rejection::MissingClaim),
    }
    let now = rules.now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let leeway = rules.leeway.as_secs();
    let exp = numeric_date(claims, "exp")?.ok_or(Rejection::MissingClaim)?;
    if now >= exp.saturating_add(leeway) {
        return Err(Rejection::Expired);
    }
    if let Some(nbf) = numeric_date(claims, "nbf")? {
        if nbf > now.saturating_add(leeway) {
            return Err(Rejection::NotYetValid);
        }
    }
    match numeric_date(claims, "iat")? {
        Some(iat) if iat > now.saturating_add(leeway) => return Err(Rejection::IssuedInFuture),
        None if rules.require_iat => return Err(Rejection::MissingClaim),
        _ => {}
    }
    if let Some(expected) = rules.nonce {
        let sent = claims.get("nonce").and_then(Value::as_str).unwrap_or_default();
        if !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
            return Err(Rejection::NonceMismatch);
        }
    }
    Ok(UNIX_EPOCH + Duration::from_secs(exp))
}

/// A NumericDate claim: absent is `None`; present but not a non-negative number is malformed. Fractions are
/// truncated (RFC 7519 allows them).
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, Rejection> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or(Rejection::MissingClaim),
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode(value: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn token(header: Value) -> String {
        format!("{}.{}.c2ln", encode(&header), encode(&json!({"sub": "x"})))
    }

    #[test]
    fn header_checks_refuse_before_any_key_is_involved() {
        assert_eq!(
            parse(&token(json!({"alg": "none"}))).unwrap_err(),
            Rejection::UnsupportedAlgorithm
        );
        assert_eq!(
            parse(&token(json!({"alg": "HS256"}))).unwrap_err(),
            Rejection::UnsupportedAlgorithm
        );
        assert_eq!(
            parse(&token(json!({"typ": "JWT"}))).unwrap_err(),
            Rejection::UnsupportedAlgorithm
        );
        assert_eq!(
            parse(&token(json!({"alg": "RS256", "crit": ["exp"]}))).unwrap_err(),
            Rejection::CriticalHeader
        );
        assert_eq!(
            parse(&token(json!({"alg": "RS256", "cty": "jwt"}))).unwrap_err(),
            Rejection::NestedToken
        );
        assert_eq!(
            parse(&token(json!({"alg": "RS256", "kid": 7}))).unwrap_err(),
            Rejection::Malformed
        );
        assert_eq!(parse("a.b").unwrap_err(), Rejection::Malformed);
        assert_eq!(parse("a.b.c.d").unwrap_err(), Rejection::Malformed);
        assert_eq!(
            parse(&"a".repeat(MAX_TOKEN_BYTES + 1)).unwrap_err(),
            Rejection::Oversized
        );
    }

    #[test]
    fn the_signing_input_is_exactly_header_dot_payload() {
        let text = token(json!({"alg": "ES256", "kid": "k1"}));
        let parsed = parse(&text).unwrap();
        let (input, _) = text.rsplit_once('.').unwrap();
        assert_eq!(parsed.signing_input, input.as_bytes());
        assert_eq!(parsed.kid.as_deref(), Some("k1"));
        assert_eq!(parsed.signature, b"sig");
    }

    fn rules(now: u64) -> ClaimRules<'static> {
        ClaimRules {
            issuer: "https://idp",
            audience: "sluice",
            authorized_party: Some("sluice"),
            require_iat: true,
            nonce: None,
            leeway: Duration::from_secs(60),
            now: UNIX_EPOCH + Duration::from_secs(now),
        }
    }

    #[test]
    fn time_claims_allow_exactly_the_leeway() {
        let claims = |exp: u64| {
            json!({"iss": "https://idp", "aud": "sluice", "sub": "a", "exp": exp, "iat": 900})
                .as_object()
                .unwrap()
                .clone()
        };
        assert!(check_claims(&claims(1000), &rules(1059)).is_ok());
        assert_eq!(
            check_claims(&claims(1000), &rules(1060)).unwrap_err(),
            Rejection::Expired
        );
        assert_eq!(
            check_claims(&claims(2000), &rules(839)).unwrap_err(),
            Rejection::IssuedInFuture
        );
    }

    #[test]
    fn several_audiences_require_a_matching_azp() {
        let claims =
            json!({"iss": "https://idp", "aud": ["sluice", "other"], "sub": "a", "exp": 2000, "iat": 900});
        let mut claims = claims.as_object().unwrap().clone();
        assert_eq!(
            check_claims(&claims, &rules(1000)).unwrap_err(),
            Rejection::WrongAuthorizedParty
        );
        claims.insert("azp".into(), json!("sluice"));
        assert!(check_claims(&claims, &rules(1000)).is_ok());
    }
}
