//! A complete sluice gateway running in the test process, on a temporary data directory, through the same
//! [`sluice::gateway::start`] that `sluice gateway` uses.
//!
//! The gateway runs on its own Tokio runtime. That makes the handle usable from plain `#[test]`s and from async tests
//! alike, and lets a test block (on a `psql` child process, on the blocking HTTP helpers here) without starving the
//! gateway: on a test's single-threaded runtime that would deadlock.

use crate::error::{Result, TestbedError};
use sluice::gateway::RunningGateway;
use sluice_config::Config;
use sluice_model::Secret;
use std::fmt;
use std::future::Future;
use std::path::Path;
use std::time::Duration;
use tempfile::TempDir;
use tokio::runtime::Runtime;

/// How long one HTTP call may take before the test fails instead of hanging.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running in-process gateway. Dropping it shuts the gateway down and deletes its data directory.
pub struct TestGateway {
    /// `Some` until drop; dropped before `dir`.
    running: Option<RunningGateway>,
    runtime: Option<Runtime>,
    config: Config,
    admin_token: Secret<String>,
    /// Deleted on drop, after the gateway has stopped (see `Drop`).
    dir: Option<TempDir>,
}

impl TestGateway {
    /// Starts a gateway with [`Config::for_data_dir`] (SQLite store, every listener on a loopback port 0, plain HTTP
    /// API) on a fresh temporary data directory, and keeps the first admin's token.
    pub fn start() -> Result<TestGateway> {
        TestGateway::start_with(|_| {})
    }

    /// Like [`TestGateway::start`], letting `configure` adjust the configuration first (e.g. to use a PostgreSQL
    /// store from [`crate::postgres::Postgres::url`]).
    pub fn start_with(configure: impl FnOnce(&mut Config)) -> Result<TestGateway> {
        let dir = crate::scratch::instance_dir("gateway", None)?;
        let mut config = Config::for_data_dir(dir.path().join("data"));
        configure(&mut config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sluice-testbed-gateway")
            .enable_all()
            .build()
            .map_err(|err| TestbedError::io("creating the gateway's runtime", err))?;
        let running = run_on(&runtime, sluice::gateway::start(config.clone()))?.map_err(|err| {
            TestbedError::Gateway {
                message: format!("{err:#}"),
            }
        })?;
        let admin_token = running.admin_token.clone().ok_or_else(|| TestbedError::Gateway {
            message: "the first start printed no admin token".to_owned(),
        })?;
        Ok(TestGateway {
            running: Some(running),
            runtime: Some(runtime),
            config,
            admin_token,
            dir: Some(dir),
        })
    }

    /// The PostgreSQL listener's address (`None` when the configuration disabled it).
    pub fn pg_addr(&self) -> Option<std::net::SocketAddr> {
        self.running.as_ref().and_then(|r| r.pg_addr)
    }

    /// The SSH listener's address (`None` when the configuration disabled it).
    pub fn ssh_addr(&self) -> Option<std::net::SocketAddr> {
        self.running.as_ref().and_then(|r| r.ssh_addr)
    }

    /// The REST API's base URL, `http://127.0.0.1:PORT`.
    pub fn api_url(&self) -> &str {
        self.running
            .as_ref()
            .map_or("", |running| running.api_url.as_str())
    }

    /// The one-time token of the `admin` user created on first start.
    pub fn admin_token(&self) -> &str {
        self.admin_token.expose()
    }

    /// The gateway's data directory (state store, master key, TLS material, admin token file).
    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// The configuration the gateway was started with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The running gateway, e.g. for its store. Async calls on it must run on the gateway's runtime: see
    /// [`TestGateway::block_on`].
    pub fn running(&self) -> Option<&RunningGateway> {
        self.running.as_ref()
    }

    /// Runs `future` on the gateway's runtime and waits for its output. Works from sync and async tests (in an async
    /// test it blocks that test's thread, which is harmless because the gateway has its own threads).
    pub fn block_on<F>(&self, future: F) -> Result<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.runtime {
            Some(runtime) => run_on(runtime, future),
            None => Err(TestbedError::Gateway {
                message: "the gateway is shut down".to_owned(),
            }),
        }
    }

    /// Shuts the gateway down and starts it again on the same data directory and configuration (a second start: no
    /// new admin token), e.g. to test that state survives a restart.
    pub fn restart(&mut self) -> Result<()> {
        self.shut_down();
        let runtime = self.runtime.as_ref().ok_or_else(|| TestbedError::Gateway {
            message: "the gateway's runtime is gone".to_owned(),
        })?;
        let running = run_on(runtime, sluice::gateway::start(self.config.clone()))?.map_err(|err| {
            TestbedError::Gateway {
                message: format!("{err:#}"),
            }
        })?;
        self.running = Some(running);
        Ok(())
    }

    /// An API client authenticating as the admin.
    pub fn admin(&self) -> ApiClient {
        self.client(self.admin_token())
    }

    /// An API client authenticating with `token` (`Authorization: Bearer TOKEN`).
    pub fn client(&self, token: &str) -> ApiClient {
        ApiClient::new(self.api_url(), Some(Secret::new(token.to_owned())))
    }

    /// An API client sending no credentials.
    pub fn anonymous(&self) -> ApiClient {
        ApiClient::new(self.api_url(), None)
    }

    fn shut_down(&mut self) {
        if let (Some(running), Some(runtime)) = (self.running.take(), self.runtime.as_ref()) {
            // A failure here means the gateway task panicked; there is nothing left to clean up.
            let _ = run_on(runtime, running.shutdown());
        }
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        self.shut_down();
        if let Some(runtime) = self.runtime.take() {
            // `shutdown_background` is the one way to drop a runtime that is allowed inside another runtime.
            runtime.shutdown_background();
        }
        if let Some(dir) = self.dir.take() {
            remove_dir_patiently(dir);
        }
    }
}

impl fmt::Debug for TestGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestGateway")
            .field("api_url", &self.api_url())
            .field("data_dir", &self.data_dir())
            .field("admin_token", &self.admin_token)
            .finish()
    }
}

/// Deletes the gateway's directory. SQLite may still be removing its `-wal` and `-shm` files from a worker thread
/// just after the store closed, which makes a single `remove_dir_all` fail now and then and leave directories
/// behind; a few retries settle it.
fn remove_dir_patiently(dir: TempDir) {
    let path = dir.path().to_path_buf();
    if dir.close().is_ok() {
        return;
    }
    for _ in 0..50 {
        match std::fs::remove_dir_all(&path) {
            Ok(()) => return,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return,
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Spawns `future` on `runtime` and waits for it on a channel: unlike `Runtime::block_on`, this may be called from
/// inside another runtime.
fn run_on<F>(runtime: &Runtime, future: F) -> Result<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        // The receiver only goes away if the waiting thread panicked.
        let _ = sender.send(future.await);
    });
    receiver.recv().map_err(|_| TestbedError::Gateway {
        message: "the gateway task panicked (see the test output above)".to_owned(),
    })
}

/// A blocking HTTP client for the gateway's REST API. Non-2xx answers are responses, not errors: tests assert on them.
#[derive(Clone)]
pub struct ApiClient {
    base_url: String,
    token: Option<Secret<String>>,
    agent: ureq::Agent,
}

impl ApiClient {
    fn new(base_url: &str, token: Option<Secret<String>>) -> ApiClient {
        let agent = ureq::AgentBuilder::new().timeout(HTTP_TIMEOUT).build();
        ApiClient {
            base_url: base_url.to_owned(),
            token,
            agent,
        }
    }

    /// `GET path` (e.g. `/api/v1/users`).
    pub fn get(&self, path: &str) -> Result<ApiResponse> {
        self.request("GET", path, None)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> Result<ApiResponse> {
        self.request("POST", path, Some(&body.to_string()))
    }

    /// `PUT path` with a JSON body.
    pub fn put(&self, path: &str, body: &serde_json::Value) -> Result<ApiResponse> {
        self.request("PUT", path, Some(&body.to_string()))
    }

    /// `PATCH path` with a JSON body.
    pub fn patch(&self, path: &str, body: &serde_json::Value) -> Result<ApiResponse> {
        self.request("PATCH", path, Some(&body.to_string()))
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Result<ApiResponse> {
        self.request("DELETE", path, None)
    }

    /// Any method with an optional raw body sent as `application/json` (it need not be valid JSON, for bad-input
    /// tests).
    pub fn request(&self, method: &str, path: &str, body: Option<&str>) -> Result<ApiResponse> {
        let url = format!("{}{path}", self.base_url);
        let mut request = self.agent.request(method, &url);
        if let Some(token) = &self.token {
            request = request.set("Authorization", &format!("Bearer {}", token.expose()));
        }
        let result = match body {
            Some(body) => request.set("Content-Type", "application/json").send_string(body),
            None => request.call(),
        };
        let response = match result {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(transport)) => {
                return Err(TestbedError::Http {
                    request: format!("{method} {url}"),
                    message: transport.to_string(),
                })
            }
        };
        let status = response.status();
        let content_type = response.content_type().to_owned();
        let body = response
            .into_string()
            .map_err(|err| TestbedError::io(format!("reading {method} {url}"), err))?;
        Ok(ApiResponse {
            status,
            content_type,
            body,
        })
    }
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("base_url", &self.base_url)
            .field("token", &self.token)
            .finish()
    }
}

/// One HTTP answer.
#[derive(Clone, Debug)]
pub struct ApiResponse {
    /// The status code.
    pub status: u16,
    /// The media type without parameters, e.g. `application/json`.
    pub content_type: String,
    /// The body as text.
    pub body: String,
}

impl ApiResponse {
    /// The body parsed as JSON (`Null` when empty).
    pub fn json(&self) -> Result<serde_json::Value> {
        if self.body.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_str(&self.body).map_err(|err| TestbedError::Http {
            request: format!("parsing a {} response", self.status),
            message: format!("not JSON ({err}): {}", self.body),
        })
    }

    /// The `error.code` of a JSON error body (`{"error": {"code": ..., "message": ...}}`), if there is one.
    pub fn error_code(&self) -> Option<String> {
        let json = self.json().ok()?;
        json.get("error")?.get("code")?.as_str().map(str::to_owned)
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}
