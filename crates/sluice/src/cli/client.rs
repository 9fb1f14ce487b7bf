//! A small blocking client of the REST API for the CLI: bearer auth, JSON in and out, and API errors turned
//! into their message (`{"error": {"message": ...}}`) so the person sees what the gateway said.

use anyhow::{anyhow, Context as _};
use serde_json::Value;
use sluice_model::Secret;
use std::time::Duration;

/// How long one API call may take before the CLI gives up.
const TIMEOUT: Duration = Duration::from_secs(30);

/// An API client bound to one gateway and token.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: Secret<String>,
}

impl Client {
    /// A client for the gateway at `base` (e.g. `http://127.0.0.1:8009`).
    pub fn new(base: &str, token: Secret<String>) -> Self {
        let agent = ureq::AgentBuilder::new().timeout(TIMEOUT).build();
        Client {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            token,
        }
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
            .request(method, &format!("{}{path}", self.base))
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
            ureq::Error::Transport(t) => anyhow!(
                "cannot reach the sluice gateway at {}: {t} (is it running? set --url or SLUICE_URL)",
                self.base
            ),
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
