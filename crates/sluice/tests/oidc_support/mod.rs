//! Shared helpers of the OpenID end-to-end tests: the REST API served in this process with providers built from a
//! `[[oidc.providers]]` section (the same conversion the gateway uses), an admin token, the real `sluice` binary
//! with a private config directory, and raw HTTP calls that do not follow redirects.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use serde_json::Value;
use sluice_api::{ApiSettings, ApiState};
use sluice_identity::oidc::Providers;
use sluice_identity::token;
use sluice_model::{Role, UserKind};
use sluice_store::seal::MasterKey;
use sluice_store::{Actor, NewToken, NewUser, Store};
use sluice_testbed::oidc::OidcProvider;
use std::io::{BufRead as _, BufReader, Read as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

/// The public client `sluice login` uses at the test provider.
pub const CLI: &str = "sluice-cli";
/// The confidential client whose client-credentials tokens act as a service account (a CI job, an agent).
pub const CI_JOB: &str = "ci-job";

/// Runs blocking work (the provider's start, the CLI, blocking HTTP) from a multi-threaded tokio test.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// The API in this process, with its store and an admin token.
pub struct Api {
    pub url: String,
    pub store: Store,
    pub admin_token: String,
    pub dir: tempfile::TempDir,
}

/// Parses `[oidc]` TOML exactly as the gateway's configuration loader does.
pub fn oidc_config(toml_text: &str) -> sluice_config::oidc::OidcConfig {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.toml");
    std::fs::write(&path, toml_text).unwrap();
    let overrides = sluice_config::Overrides {
        config_file: Some(path),
        data_dir: Some(dir.path().join("data")),
        ..Default::default()
    };
    sluice_config::Config::load_with(&overrides, &sluice_config::Environment::default())
        .unwrap()
        .oidc
}

impl Api {
    /// Discovers the providers of `toml_text` (an `[[oidc.providers]]` section) and serves the API with them.
    pub async fn start(toml_text: &str) -> Api {
        let config = oidc_config(toml_text);
        let providers = sluice::oidc_setup::discover(&config)
            .await
            .expect("providers discovered");
        Api::start_with(providers, sluice::oidc_setup::api_settings(&config, false)).await
    }

    /// Serves the API with given providers.
    pub async fn start_with(providers: Arc<Providers>, settings: sluice_api::OidcSettings) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_file(&dir.path().join("state.db"))
            .await
            .unwrap();
        let admin = store
            .create_user(
                &Actor::system(),
                NewUser {
                    name: "admin".into(),
                    kind: UserKind::Human,
                    role: Role::Admin,
                    groups: vec![],
                },
            )
            .await
            .unwrap();
        let (secret, hash) = token::mint().unwrap();
        store
            .create_token(
                &Actor::system(),
                NewToken {
                    user_id: admin.id,
                    name: None,
                    hash,
                    display_prefix: token::display_prefix(secret.expose()),
                    expires_at: None,
                },
            )
            .await
            .unwrap();
        let key = Arc::new(MasterKey::generate().unwrap());
        let api_settings = ApiSettings {
            max_body_bytes: 1024 * 1024,
            trusted_proxies: vec![],
        };
        let state = ApiState::new(store.clone(), key, api_settings).with_oidc(providers, settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = sluice_api::router(state).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Api {
            url: format!("http://{addr}"),
            store,
            admin_token: secret.expose().clone(),
            dir,
        }
    }

    /// A config directory for one person's CLI.
    pub fn home(&self, name: &str) -> PathBuf {
        let home = self.dir.path().join("home").join(name);
        std::fs::create_dir_all(&home).unwrap();
        home
    }

    /// A `sluice` command against this API with `config_home` as XDG_CONFIG_HOME and no token in the environment.
    pub fn cli(&self, config_home: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
        cmd.args(args)
            .env_clear()
            .env("SLUICE_URL", &self.url)
            .env("XDG_CONFIG_HOME", config_home)
            .env("HOME", config_home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs a `sluice` command to completion (blocking).
    pub fn run(&self, config_home: &Path, args: &[&str]) -> (bool, String, String) {
        let output = self.cli(config_home, args).output().unwrap();
        (
            output.status.success(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    }

    /// A raw request (no redirects followed): status, headers `set-cookie` and `location`, JSON body or Null.
    pub fn http<H: AsRef<str>>(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, H)],
        body: Option<Value>,
    ) -> Reply {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.url)
        };
        http(method, &url, headers, body)
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub cookies: Vec<String>,
    pub location: Option<String>,
    pub body: Value,
}

pub fn http<H: AsRef<str>>(method: &str, url: &str, headers: &[(&str, H)], body: Option<Value>) -> Reply {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let mut request = agent.request(method, url);
    for (name, value) in headers {
        request = request.set(name, value.as_ref());
    }
    let result = match body {
        Some(body) => request.send_json(body),
        None => request.call(),
    };
    let response = match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = response.status();
    let cookies = response
        .all("set-cookie")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let location = response.header("location").map(str::to_owned);
    let text = response.into_string().unwrap_or_default();
    Reply {
        status,
        cookies,
        location,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// The `Authorization` header for a bearer token.
pub fn bearer(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

/// Runs `sluice login --no-browser` as `user`: reads the URL the CLI prints, logs in at the provider's forms, and
/// delivers the provider's redirect to the CLI's loopback listener. Returns the CLI's output.
pub fn cli_login(
    api: &Api,
    idp: &OidcProvider,
    home: &Path,
    user: &str,
    password: &str,
) -> (bool, String, String) {
    let child = api
        .cli(home, &["login", "--no-browser", "--provider", "test-idp"])
        .spawn()
        .unwrap();
    drive_cli_login(child, idp, user, password)
}

/// Completes a running `sluice login --no-browser` (stdout and stderr piped) as `user` the way a person would: the
/// URL it prints (a PKCE authorization request at the provider) opened and signed in to, and the provider's
/// redirect delivered to the CLI's loopback listener. Returns whether the CLI succeeded, its stdout and stderr.
pub fn drive_cli_login(
    mut child: std::process::Child,
    idp: &OidcProvider,
    user: &str,
    password: &str,
) -> (bool, String, String) {
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    let url = loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            let mut stderr = String::new();
            child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            panic!("the CLI printed no URL: {printed}\n{stderr}");
        }
        printed.push_str(&line);
        if line.trim_start().starts_with("http") {
            break line.trim().to_owned();
        }
    };
    assert!(url.starts_with(&format!("{}/", idp.issuer())), "{url}");
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("state="),
        "{url}"
    );
    let redirect = idp.browser_login(&url, user, password).unwrap();
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    let delivered = http::<&str>("GET", &redirect, &[], None);
    assert_eq!(delivered.status, 200);
    stdout.read_to_string(&mut printed).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (child.wait().unwrap().success(), printed, stderr)
}
