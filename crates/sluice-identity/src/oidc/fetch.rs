//! The HTTP seam: everything OIDC needs from the network is a JSON GET or a form POST, behind [`HttpFetch`], so
//! validation and the flows can be tested with fixed keys and canned answers, and the real client can be swapped.
//!
//! [`HttpFetcher`] is the real one: `ureq` with rustls, run on tokio's blocking pool, with timeouts and a cap on
//! response size (a hostile or broken provider must not stall or flood the gateway). It trusts what a
//! [`ProviderTrust`] says (the system's trust store, the webpki roots, and a provider's own CA file), and explains a
//! refused certificate with the advice the trust carries.

use super::trust::ProviderTrust;
use crate::IdentityError;
use base64::Engine as _;
use serde_json::Value;
use sluice_model::Secret;
use std::future::Future;
use std::io::Read as _;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed future, so that [`HttpFetch`] can be used as `Arc<dyn HttpFetch>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Responses larger than this are refused: discovery documents and JWKS are a few KiB.
pub const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// An HTTP answer: the status and the JSON body (`Value::Null` when the body was not JSON).
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
}

/// Form fields of a POST, and the client's credentials for HTTP Basic authentication (`client_secret_basic`, the
/// method every provider must support, RFC 6749 §2.3.1). Values may be secrets (client secret, code verifier, device
/// code): Debug shows field names only.
#[derive(Clone, Default)]
pub struct Form {
    fields: Vec<(&'static str, String)>,
    basic_auth: Option<(String, Secret<String>)>,
}

impl Form {
    /// Adds a field.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Form {
        self.fields.push((name, value.into()));
        self
    }

    /// Authenticates the request with HTTP Basic as `client_id` with `secret`.
    pub fn with_basic_auth(mut self, client_id: &str, secret: &Secret<String>) -> Form {
        self.basic_auth = Some((client_id.to_owned(), secret.clone()));
        self
    }

    /// The `Authorization` header value for the client credentials, if any: both parts form-urlencoded first, as
    /// RFC 6749 §2.3.1 requires.
    pub fn authorization(&self) -> Option<Secret<String>> {
        self.basic_auth.as_ref().map(|(id, secret)| {
            let pair = format!("{}:{}", form_urlencode(id), form_urlencode(secret.expose()));
            Secret::new(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            ))
        })
    }

    /// The fields, for an [`HttpFetch`] implementation to send.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.fields.iter().map(|(name, value)| (*name, value.as_str()))
    }
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Form")
            .field(
                "fields",
                &self.fields.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            )
            .field("basic_auth", &self.basic_auth.as_ref().map(|(id, _)| id))
            .finish()
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                char::from(byte).to_string()
            }
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// What OIDC needs from HTTP. Errors are [`IdentityError::ProviderUnavailable`]; non-2xx answers to a POST are
/// replies (token endpoints answer 400 with a JSON error), non-2xx answers to a GET are errors.
pub trait HttpFetch: Send + Sync + std::fmt::Debug {
    /// GETs `url` and parses the JSON body.
    fn get_json<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Value, IdentityError>>;
    /// POSTs `form` (`application/x-www-form-urlencoded`) to `url`.
    fn post_form<'a>(&'a self, url: &'a str, form: Form) -> BoxFuture<'a, Result<Reply, IdentityError>>;
}

/// The real fetcher. Needs a tokio runtime.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    agent: ureq::Agent,
    /// Kept to explain a refused certificate.
    trust: Arc<ProviderTrust>,
}

impl Default for HttpFetcher {
    fn default() -> Self {
        HttpFetcher::new(Duration::from_secs(10))
    }
}

impl HttpFetcher {
    /// A fetcher that trusts the system's trust store and the webpki roots, and whose requests give up after
    /// `timeout`. Redirects are not followed: OIDC endpoints are exact URLs.
    pub fn new(timeout: Duration) -> HttpFetcher {
        let trust = ProviderTrust::new();
        match trust.client_config() {
            Ok(tls) => HttpFetcher::with_config(timeout, tls, trust),
            // Unreachable with no extra certificates (ring supports the default protocol versions); ureq's own
            // settings then still verify against the webpki roots.
            Err(error) => {
                tracing::warn!(%error, "TLS settings for identity providers; using the webpki roots only");
                HttpFetcher {
                    agent: ureq::AgentBuilder::new().timeout(timeout).redirects(0).build(),
                    trust: Arc::new(trust),
                }
            }
        }
    }

    /// A fetcher that trusts what `trust` says (a provider's own CA on top of the system's and webpki's roots).
    /// Fails when one of its extra certificates cannot be a trust anchor.
    pub fn with_trust(timeout: Duration, trust: ProviderTrust) -> Result<HttpFetcher, IdentityError> {
        let tls = trust.client_config()?;
        Ok(HttpFetcher::with_config(timeout, tls, trust))
    }

    fn with_config(timeout: Duration, tls: Arc<rustls::ClientConfig>, trust: ProviderTrust) -> HttpFetcher {
        HttpFetcher {
            agent: ureq::AgentBuilder::new()
                .timeout(timeout)
                .redirects(0)
                .tls_config(tls)
                .build(),
            trust: Arc::new(trust),
        }
    }

    /// A transport failure, a refused certificate explained.
    fn failed(&self, url: &str, error: &ureq::Error) -> IdentityError {
        match self.trust.explain(url, error) {
            Some(reason) => unavailable(url, reason),
            None => unavailable(url, error),
        }
    }
}

fn unavailable(url: &str, reason: impl std::fmt::Display) -> IdentityError {
    IdentityError::ProviderUnavailable {
        provider: url.to_owned(),
        reason: reason.to_string(),
    }
}

fn read_reply(url: &str, response: ureq::Response) -> Result<Reply, IdentityError> {
    let status = response.status();
    let mut body = Vec::new();
    response
        .into_reader()
        .take(MAX_RESPONSE_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|err| unavailable(url, format!("reading the response: {err}")))?;
    if body.len() as u64 > MAX_RESPONSE_BYTES {
        return Err(unavailable(url, "the response is too large"));
    }
    Ok(Reply {
        status,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    })
}

async fn blocking<T: Send + 'static>(
    url: &str,
    work: impl FnOnce() -> Result<T, IdentityError> + Send + 'static,
) -> Result<T, IdentityError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| unavailable(url, format!("the request task failed: {err}")))?
}

impl HttpFetch for HttpFetcher {
    fn get_json<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Value, IdentityError>> {
        let fetcher = self.clone();
        let owned = url.to_owned();
        Box::pin(async move {
            let reply = blocking(url, move || {
                let response = match fetcher.agent.get(&owned).set("accept", "application/json").call() {
                    Ok(response) => response,
                    Err(ureq::Error::Status(status, _)) => {
                        return Err(unavailable(&owned, format!("HTTP {status}")))
                    }
                    Err(err) => return Err(fetcher.failed(&owned, &err)),
                };
                read_reply(&owned, response)
            })
            .await?;
            if !(200..300).contains(&reply.status) {
                return Err(unavailable(url, format!("HTTP {}", reply.status)));
            }
            Ok(reply.body)
        })
    }

    fn post_form<'a>(&'a self, url: &'a str, form: Form) -> BoxFuture<'a, Result<Reply, IdentityError>> {
        let fetcher = self.clone();
        let owned = url.to_owned();
        Box::pin(blocking(url, move || {
            let fields: Vec<(&str, &str)> = form.fields().collect();
            let mut request = fetcher.agent.post(&owned).set("accept", "application/json");
            if let Some(authorization) = form.authorization() {
                request = request.set("authorization", authorization.expose());
            }
            match request.send_form(&fields) {
                Ok(response) | Err(ureq::Error::Status(_, response)) => read_reply(&owned, response),
                Err(err) => Err(fetcher.failed(&owned, &err)),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_encodes_both_parts_and_debug_hides_secrets() {
        let form = Form::default()
            .with("code_verifier", "verifier-value")
            .with_basic_auth("web client", &Secret::new("s:cret".to_owned()));
        let header = form.authorization().unwrap();
        let encoded = header.expose().strip_prefix("Basic ").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
        assert_eq!(decoded, b"web+client:s%3Acret");
        let debug = format!("{form:?}");
        assert!(
            debug.contains("code_verifier") && debug.contains("web client"),
            "{debug}"
        );
        assert!(
            !debug.contains("verifier-value") && !debug.contains("s:cret"),
            "{debug}"
        );
    }
}
