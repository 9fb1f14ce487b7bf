//! The provider's signing keys: parsing a JWKS into verifiers, checking signatures, and a cache that refreshes on an
//! unknown `kid` at a bounded rate.
//!
//! Only asymmetric public keys are ever loaded (`RSA`, `EC` P-256, `OKP` Ed25519); symmetric `oct` keys are skipped.
//! Each algorithm is bound to one key type, so a token cannot choose how a key is used: there is no code path where
//! a public key's bytes serve as an HMAC secret. Signatures are checked with `ring`, which also refuses RSA keys
//! shorter than 2048 bits.

use super::jwt::{Algorithm, Rejection, Unverified};
use base64::Engine as _;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::Value;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// Public key material of one JWK.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Material {
    /// Modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An uncompressed P-256 point (`0x04 || x || y`).
    P256 { point: Vec<u8> },
    /// A 32-byte Ed25519 public key.
    Ed25519 { x: Vec<u8> },
}

/// One verification key from the provider's JWKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationKey {
    kid: Option<String>,
    /// The key's own `alg`, when the JWK names one: then only that algorithm may use it.
    alg: Option<Algorithm>,
    material: Material,
}

impl VerificationKey {
    /// Parses one JWK. `None` for keys sluice will not use: symmetric, encryption-only, other curves, unknown
    /// algorithms, malformed parameters.
    pub fn from_jwk(jwk: &Value) -> Option<VerificationKey> {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str);
        let bytes = |name: &str| {
            field(name).and_then(|text| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok())
        };
        if field("use").is_some_and(|usage| usage != "sig") {
            return None;
        }
        let alg = match field("alg") {
            None => None,
            Some(name) => Some(Algorithm::from_jose(name)?),
        };
        let material = match (field("kty")?, field("crv")) {
            ("RSA", _) => Material::Rsa {
                n: bytes("n")?,
                e: bytes("e")?,
            },
            ("EC", Some("P-256")) => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return None;
                }
                Material::P256 {
                    point: [&[0x04][..], &x, &y].concat(),
                }
            }
            ("OKP", Some("Ed25519")) => Material::Ed25519 { x: bytes("x")? },
            _ => return None,
        };
        Some(VerificationKey {
            kid: field("kid").map(str::to_owned),
            alg,
            material,
        })
    }

    /// The key's id.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether this key may verify `alg`: the key type must be the algorithm's, and a key naming its `alg` only
    /// serves that one.
    fn fits(&self, alg: Algorithm) -> bool {
        let type_fits = matches!(
            (alg, &self.material),
            (Algorithm::Rs256 | Algorithm::Ps256, Material::Rsa { .. })
                | (Algorithm::Es256, Material::P256 { .. })
                | (Algorithm::EdDsa, Material::Ed25519 { .. })
        );
        type_fits && self.alg.is_none_or(|own| own == alg)
    }

    fn verify(&self, alg: Algorithm, message: &[u8], signature_bytes: &[u8]) -> bool {
        let result = match (&self.material, alg) {
            (Material::Rsa { n, e }, Algorithm::Rs256) => RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                message,
                signature_bytes,
            ),
            (Material::Rsa { n, e }, Algorithm::Ps256) => RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PSS_2048_8192_SHA256,
                message,
                signature_bytes,
            ),
            (Material::P256 { point }, Algorithm::Es256) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature_bytes)
            }
            (Material::Ed25519 { x }, Algorithm::EdDsa) => {
                UnparsedPublicKey::new(&signature::ED25519, x).verify(message, signature_bytes)
            }
            _ => return false,
        };
        result.is_ok()
    }
}

/// Parses a JWKS document (`{"keys": [...]}`), keeping the keys sluice can use.
pub fn parse_jwks(document: &Value) -> Vec<VerificationKey> {
    document
        .get("keys")
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(VerificationKey::from_jwk).collect())
        .unwrap_or_default()
}

/// What a key lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// The signature verified with this key set.
    Verified,
    /// A key was found and the signature did not verify.
    BadSignature,
    /// No usable key: refreshing the set may help.
    NoKey,
}

/// Checks `token`'s signature against `keys`. With a `kid` only that key is tried; without one, only when exactly one
/// key fits the algorithm (trying several would turn "which key" into a guess).
pub(crate) fn verify_with(keys: &[VerificationKey], token: &Unverified<'_>) -> Lookup {
    let candidates: Vec<&VerificationKey> = keys
        .iter()
        .filter(|key| key.fits(token.alg))
        .filter(|key| token.kid.is_none() || key.kid == token.kid)
        .collect();
    match candidates.as_slice() {
        [key] if key.verify(token.alg, token.signing_input, &token.signature) => Lookup::Verified,
        [_] => Lookup::BadSignature,
        _ => Lookup::NoKey,
    }
}

/// The provider's keys, refreshed when a token names a key the cache does not know.
///
/// A refresh that fails keeps the keys already known, so tokens signed with them keep validating while the provider
/// is down. Refreshes are attempted at most once per `min_refresh_interval`, whoever asks.
#[derive(Debug)]
pub struct KeyCache {
    keys: RwLock<Vec<VerificationKey>>,
    /// When the last refresh was attempted (successful or not).
    last_attempt: Mutex<Option<Instant>>,
    min_refresh_interval: Duration,
}

impl KeyCache {
    /// A cache holding `keys`, which may be empty (the first unknown `kid` then fetches).
    pub fn new(keys: Vec<VerificationKey>, min_refresh_interval: Duration) -> KeyCache {
        KeyCache {
            keys: RwLock::new(keys),
            last_attempt: Mutex::new(None),
            min_refresh_interval,
        }
    }

    /// Verifies with the cached keys only.
    pub(crate) fn verify_cached(&self, token: &Unverified<'_>) -> Lookup {
        match self.keys.read() {
            Ok(keys) => verify_with(&keys, token),
            Err(_) => Lookup::NoKey,
        }
    }

    /// Claims the right to refresh now; false when the last attempt was too recent.
    pub(crate) fn begin_refresh(&self) -> bool {
        let Ok(mut last) = self.last_attempt.lock() else {
            return false;
        };
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < self.min_refresh_interval) {
            return false;
        }
        *last = Some(now);
        true
    }

    /// Replaces the key set after a successful fetch. An empty fetched set is ignored: a provider always publishes
    /// keys, so an empty set is a fault, not a revocation.
    pub(crate) fn replace(&self, keys: Vec<VerificationKey>) {
        if keys.is_empty() {
            return;
        }
        if let Ok(mut current) = self.keys.write() {
            *current = keys;
        }
    }

    /// The ids of the cached keys (for diagnostics).
    pub fn kids(&self) -> Vec<String> {
        self.keys
            .read()
            .map(|keys| keys.iter().filter_map(|key| key.kid.clone()).collect())
            .unwrap_or_default()
    }
}

/// Maps a lookup that found no key after everything was tried.
pub(crate) fn final_outcome(lookup: Lookup) -> Result<(), Rejection> {
    match lookup {
        Lookup::Verified => Ok(()),
        Lookup::BadSignature => Err(Rejection::BadSignature),
        Lookup::NoKey => Err(Rejection::UnknownKey),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_asymmetric_signing_keys_are_loaded() {
        let jwks = json!({"keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB", "use": "enc", "kid": "enc"},
            {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA", "kid": "p384"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB", "alg": "HS256", "kid": "rsa-hs"},
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "ed"},
        ]});
        let keys = parse_jwks(&jwks);
        assert_eq!(
            keys.iter().map(|key| key.kid().unwrap()).collect::<Vec<_>>(),
            ["ed"]
        );
    }

    #[test]
    fn a_key_serves_only_its_own_type_and_named_algorithm() {
        let rsa = VerificationKey::from_jwk(&json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "alg": "PS256"}))
            .unwrap();
        assert!(rsa.fits(Algorithm::Ps256));
        assert!(!rsa.fits(Algorithm::Rs256));
        assert!(!rsa.fits(Algorithm::Es256));
    }

    #[test]
    fn refreshes_are_rate_limited() {
        let cache = KeyCache::new(Vec::new(), Duration::from_secs(30));
        assert!(cache.begin_refresh());
        assert!(!cache.begin_refresh());
        let eager = KeyCache::new(Vec::new(), Duration::ZERO);
        assert!(eager.begin_refresh());
        assert!(eager.begin_refresh());
    }
}
