//! A small blocking client of the REST API for the CLI: plain HTTP or verified HTTPS, bearer auth, JSON in and
//! out, and API errors turned into their message (`{"error": {"message": ...}}`) so the person sees what the gateway
//! said.

use super::trust::{self, ApiTrust};
use anyhow::{anyhow, Context as _};
use serde_json::Value;
use sluice_model::Secret;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one API call may take before the CLI gives up.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Where the gateway's API is (`--url`) and which extra CA certificate to trust for it (`--ca-cert`).
#[derive(Debug, Clone)]
pub struct Endpoint {
    url: String,
    ca_cert: Option<PathBuf>,
}

impl Endpoint {
    /// `url` as given, `ca_cert` from `--ca-cert`/`SLUICE_CA_CERT`.
    pub fn new(url: &str, ca_cert: Option<PathBuf>) -> Self {
        Endpoint {
            url: url.to_owned(),
            ca_cert,
        }
    }

    /// The API URL as given (the saved login session is keyed by it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The CA certificate given with `--ca-cert`/`SLUICE_CA_CERT`, if any.
    pub fn ca_cert(&self) -> Option<&Path> {
        self.ca_cert.as_deref()
    }

    /// An HTTP agent for the API. TLS settings are only built (and the system trust store only read) for an
    /// `https://` URL, so plain HTTP and the offline commands never fail on a missing CA file.
    pub fn agent(&self) -> anyhow::Result<Agent> {
        let base = self.url.trim_end_matches('/').to_owned();
        let builder = ureq::AgentBuilder::new().timeout(TIMEOUT);
        let scheme = base
            .split_once("://")
            .map(|(scheme, _)| scheme.to_ascii_lowercase());
        let (builder, trust) = match scheme.as_deref() {
            Some("https") => {
                let (config, trust) = trust::for_api(self.ca_cert())?;
                (builder.tls_config(config), Some(trust))
            }
            Some("http") => (builder, None),
            _ => anyhow::bail!("--url must start with http:// or https:// (got `{base}`)"),
        };
        Ok(Agent {
            agent: builder.build(),
            base,
            trust,
        })
    }
}

/// A ready HTTP agent for one gateway, without credentials (`sluice login` uses it before it has a token).
#[derive(Debug, Clone)]
pub struct Agent {
    agent: ureq::Agent,
    base: String,
    /// What HTTPS trusts, to explain a refused certificate; `None` for plain HTTP.
    trust: Option<ApiTrust>,
}

impl Agent {
    /// The API URL without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A request to `path` under the API URL.
    pub fn request(&self, method: &str, path: &str) -> ureq::Request {
        self.agent.request(method, &format!("{}{path}", self.base))
    }

    /// A transport failure (connection refused, TLS handshake refused, ...) as a message saying what to do.
    pub fn transport_error(&self, error: &ureq::Transport) -> anyhow::Error {
        if let (Some(trust), Some(tls)) = (&self.trust, trust::rustls_error(error)) {
            return anyhow!(trust::explain(&self.base, trust, tls));
        }
        // Connected, but the answer is not HTTP: typically a TLS alert from an API served over HTTPS.
        let garbled = matches!(
            error.kind(),
            ureq::ErrorKind::BadStatus | ureq::ErrorKind::BadHeader | ureq::ErrorKind::Io
        );
        let hint = if self.trust.is_none() && garbled {
            "if the gateway serves the API over TLS, `[api] tls = true`, use an https:// URL"
        } else {
            "is it running? set --url or SLUICE_URL"
        };
        anyhow!(
            "cannot reach the sluice gateway at {}: {error} ({hint})",
            self.base
        )
    }
}

/// An API client bound to one gateway and token.
#[derive(Debug)]
pub struct Client {
    agent: Agent,
    token: Secret<String>,
}

impl Client {
    /// A client for the gateway at `endpoint` with `token`.
    pub fn new(endpoint: &Endpoint, token: Secret<String>) -> anyhow::Result<Self> {
        Ok(Client {
            agent: endpoint.agent()?,
            token,
        })
    }

    /// `GET path` with optional query pairs.
    pub fn get(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<Value> {
        let mut req = self.request("GET", path);
        for (k, v) in query {
            req = req.query(k, v);
        }
        self.finish(req.call())
    }

    /// A request with a JSON body.
    pub fn send(&self, method: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.finish(self.request(method, path).send_json(body))
    }

    /// A request without a body.
    pub fn call(&self, method: &str, path: &str) -> anyhow::Result<Value> {
        self.finish(self.request(method, path).call())
    }

    /// `GET path` whose body is read as it arrives (JSON lines), not parsed.
    pub fn get_stream(&self, path: &str) -> anyhow::Result<impl std::io::Read + Send> {
        match self.request("GET", path).call() {
            Ok(response) => Ok(response.into_reader()),
            Err(e) => Err(self.error(e)),
        }
    }

    fn request(&self, method: &str, path: &str) -> ureq::Request {
        self.agent
            .request(method, path)
            .set("Authorization", &format!("Bearer {}", self.token.expose()))
    }

    fn finish(&self, result: Result<ureq::Response, ureq::Error>) -> anyhow::Result<Value> {
        match result {
            Ok(response) if response.status() == 204 => Ok(Value::Null),
            Ok(response) => response
                .into_json::<Value>()
                .context("the gateway sent a response that is not JSON"),
            Err(e) => Err(self.error(e)),
        }
    }

    fn error(&self, e: ureq::Error) -> anyhow::Error {
        match e {
            ureq::Error::Status(status, response) => {
                let body = response.into_string().unwrap_or_default();
                anyhow!(api_message(status, &body))
            }
            ureq::Error::Transport(t) => self.agent.transport_error(&t),
        }
    }
}

/// The message of an API error body, or the status line when the body is not one.
fn api_message(status: u16, body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str);
    match message {
        Some(m) => format!("{m} (HTTP {status})"),
        None => format!("the gateway answered HTTP {status}"),
    }
}
