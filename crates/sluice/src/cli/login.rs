//! `sluice login`, `sluice logout` and `sluice whoami`, and the saved session.
//!
//! `login` asks the gateway which providers it trusts (`GET /api/v1/auth/providers`), runs the login at the
//! provider itself — the authorization code flow with PKCE and a loopback redirect (RFC 8252), or the device flow
//! (RFC 8628) — validates the ID token it receives (signature, issuer, audience, nonce), and exchanges it at the
//! gateway for a sluice session token (`POST /api/v1/auth/token`). The session is saved in
//! `$XDG_CONFIG_HOME/sluice/session.json` (or `~/.config/sluice/session.json`), mode 0600, together with the
//! gateway URL: it is used only for that gateway, only when neither `--token` nor `SLUICE_TOKEN` is given, and only
//! until it expires.
//!
//! Requests to the provider trust the system's trust store, the webpki roots and `--ca-cert`/`SLUICE_CA_CERT` if
//! given (see `trust::for_provider` for why the gateway's option is reused).

use super::client::{Agent, Client, Endpoint};
use anyhow::{anyhow, bail, Context as _};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sluice_identity::oidc::{
    DeviceAuthorization, DevicePoll, HttpFetcher, PendingLogin, Provider, ProviderConfig, ValidationSettings,
};
use sluice_model::Secret;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// How long the loopback listener waits for the browser to come back.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(300);
/// How long one request to the identity provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head the loopback listener reads.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// `sluice login`
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The identity provider to log in with [default: the gateway's first].
    #[arg(long)]
    provider: Option<String>,
    /// Do not try to open a browser; only print the URL (for SSH sessions and headless machines).
    #[arg(long)]
    no_browser: bool,
    /// Use the device flow: enter a code on any device's browser.
    #[arg(long, conflicts_with = "no_browser")]
    device: bool,
    /// Loopback port for the redirect [default: a free port].
    #[arg(long, default_value_t = 0)]
    port: u16,
}

/// What `session.json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct SavedSession {
    url: String,
    token: String,
    provider: String,
    user: String,
    expires_at: String,
}

/// Where the session is saved.
pub fn session_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("sluice").join("session.json"))
}

fn read_saved() -> Option<SavedSession> {
    let text = std::fs::read_to_string(session_path()?).ok()?;
    serde_json::from_str(&text).ok()
}

/// The saved session token for the gateway at `url`, if there is one that has not expired.
pub fn saved_token(url: &str) -> Option<String> {
    let saved = read_saved()?;
    let expires =
        time::OffsetDateTime::parse(&saved.expires_at, &time::format_description::well_known::Rfc3339)
            .ok()?;
    (same_gateway(&saved.url, url) && expires > time::OffsetDateTime::now_utc()).then_some(saved.token)
}

fn same_gateway(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

fn save(session: &SavedSession) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    let path = session_path()
        .ok_or_else(|| anyhow!("cannot find a config directory: set HOME or XDG_CONFIG_HOME"))?;
    let dir = path
        .parent()
        .ok_or_else(|| anyhow!("no directory for {}", path.display()))?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    // Written to a private temporary file and renamed, so the token is never readable by others, not even briefly.
    let temp = dir.join(format!(".session.json.{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .with_context(|| format!("cannot write {}", temp.display()))?;
    file.write_all(serde_json::to_string_pretty(session)?.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", temp.display()))?;
    std::fs::rename(&temp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// An API error answer as its message, or a transport failure as [`Agent::transport_error`] explains it.
fn api_error(agent: &Agent, e: ureq::Error) -> anyhow::Error {
    match e {
        ureq::Error::Status(status, response) => {
            let body: Value = response.into_json().unwrap_or(Value::Null);
            let message = at(at(&body, "error"), "message")
                .as_str()
                .unwrap_or("request refused");
            anyhow!("{message} (HTTP {status})")
        }
        ureq::Error::Transport(t) => agent.transport_error(&t),
    }
}

/// `sluice login`
pub fn login(api: &Endpoint, args: LoginArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let agent = api.agent()?;
    let base = agent.base().to_owned();
    let providers: Vec<Value> = agent
        .request("GET", "/api/v1/auth/providers")
        .call()
        .map_err(|e| api_error(&agent, e))?
        .into_json()
        .context("the gateway's provider list is not JSON")?;
    let chosen = match &args.provider {
        Some(name) => providers
            .iter()
            .find(|p| at(p, "name") == name.as_str())
            .ok_or_else(|| {
                let names: Vec<&str> = providers.iter().filter_map(|p| at(p, "name").as_str()).collect();
                anyhow!(
                    "the gateway has no identity provider `{name}` (it has: {})",
                    names.join(", ")
                )
            })?,
        None => providers
            .first()
            .ok_or_else(|| anyhow!("the gateway at {base} has no identity provider configured"))?,
    };
    let field = |name: &str| {
        at(chosen, name)
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("the gateway's provider entry has no {name}"))
    };
    let name = field("name")?;
    let issuer = field("issuer")?;
    let trust = super::trust::for_provider(api.ca_cert(), &name, &issuer)?;
    let mut config = ProviderConfig::new(&name, &issuer, &field("client_id")?);
    config.scopes = field("scopes")?.split_whitespace().map(str::to_owned).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the login's runtime")?;
    let id_token = runtime.block_on(async {
        let fetch = HttpFetcher::with_trust(PROVIDER_TIMEOUT, trust)
            .with_context(|| format!("cannot use the CA certificate for the identity provider `{name}`"))?;
        let provider = Provider::discover(config, Arc::new(fetch), ValidationSettings::default())
            .await
            .with_context(|| format!("cannot reach the identity provider `{name}`"))?;
        if args.device {
            device_login(&provider, out).await
        } else {
            browser_login(&provider, &args, out).await
        }
    })?;
    let answer: Value = agent
        .request("POST", "/api/v1/auth/token")
        .send_json(json!({"provider": name, "id_token": id_token.expose()}))
        .map_err(|e| api_error(&agent, e))?
        .into_json()
        .context("the gateway's login answer is not JSON")?;
    let token = at(&answer, "token")
        .as_str()
        .ok_or_else(|| anyhow!("the gateway issued no token"))?;
    let user = at(&answer, "user");
    let session = SavedSession {
        url: base.clone(),
        token: token.to_owned(),
        provider: name.clone(),
        user: at(user, "name").as_str().unwrap_or_default().to_owned(),
        expires_at: at(&answer, "expires_at").as_str().unwrap_or_default().to_owned(),
    };
    let path = save(&session)?;
    let groups: Vec<&str> = at(user, "groups")
        .as_array()
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    writeln!(
        out,
        "Logged in to {base} as {} via {name} (role {}, groups: {}). The session expires {}.\nSaved to {}.",
        session.user,
        at(user, "role").as_str().unwrap_or("user"),
        if groups.is_empty() {
            "-".to_owned()
        } else {
            groups.join(", ")
        },
        session.expires_at,
        path.display()
    )?;
    Ok(())
}

/// The authorization code flow with PKCE and a loopback redirect.
async fn browser_login(
    provider: &Provider,
    args: &LoginArgs,
    out: &mut impl Write,
) -> anyhow::Result<Secret<String>> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .context("cannot listen on a loopback port for the login redirect")?;
    let port = listener.local_addr().context("loopback listener")?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let pending = PendingLogin::start(provider, &redirect_uri)?;
    writeln!(
        out,
        "To log in, open this URL in a browser:\n\n  {}\n",
        pending.authorize_url
    )?;
    writeln!(
        out,
        "Waiting for the identity provider to redirect to {redirect_uri} ..."
    )?;
    out.flush()?;
    if !args.no_browser {
        open_browser(&pending.authorize_url);
    }
    let query = tokio::time::timeout(LOGIN_TIMEOUT, redirect_query(&listener))
        .await
        .map_err(|_| {
            anyhow!(
                "the login was not completed within {} minutes",
                LOGIN_TIMEOUT.as_secs() / 60
            )
        })??;
    let code = pending.code_from_redirect(provider, &query)?;
    let tokens = pending.exchange(provider, &code, SystemTime::now()).await?;
    Ok(tokens.id_token)
}

/// Accepts connections on the loopback listener until one asks for `/callback`; answers it and returns its query.
async fn redirect_query(listener: &tokio::net::TcpListener) -> anyhow::Result<String> {
    loop {
        let (mut stream, _) = listener.accept().await.context("loopback listener")?;
        let mut head = Vec::new();
        let mut chunk = [0u8; 2048];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
        }
        let text = String::from_utf8_lossy(&head);
        let target = text
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("GET "))
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_default();
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if path != "/callback" {
            let _ = stream
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
            continue;
        }
        let page = "<!doctype html><title>sluice</title><p>Login received; you can close this window and return to the terminal.</p>";
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{page}",
            page.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
        return Ok(query.to_owned());
    }
}

/// Best effort: a missing opener only means the person opens the printed URL themselves.
fn open_browser(url: &str) {
    for opener in ["xdg-open", "open"] {
        let spawned = std::process::Command::new(opener)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if spawned.is_ok() {
            return;
        }
    }
}

/// The device authorization flow.
async fn device_login(provider: &Provider, out: &mut impl Write) -> anyhow::Result<Secret<String>> {
    let mut device = DeviceAuthorization::start(provider, SystemTime::now()).await?;
    writeln!(
        out,
        "To log in, open {} and enter the code {}",
        device.verification_uri, device.user_code
    )?;
    if let Some(complete) = &device.verification_uri_complete {
        writeln!(
            out,
            "or open this URL, which has the code filled in:\n\n  {complete}\n"
        )?;
    }
    writeln!(out, "Waiting for the login to complete ...")?;
    out.flush()?;
    loop {
        tokio::time::sleep(device.interval).await;
        match device.poll(provider, SystemTime::now()).await? {
            DevicePoll::Pending | DevicePoll::SlowDown => continue,
            DevicePoll::Complete(tokens) => return Ok(tokens.id_token),
        }
    }
}

/// `value[key]` without the indexing lint: a missing key is `Null`.
fn at<'a>(value: &'a Value, key: &str) -> &'a Value {
    value.get(key).unwrap_or(&Value::Null)
}

/// The token for client commands: `--token`/`SLUICE_TOKEN`, else the saved session for this gateway.
pub fn token_for(url: &str, given: Option<String>) -> Option<String> {
    given.or_else(|| saved_token(url))
}

/// `sluice logout`: revokes the session at the gateway and deletes the saved file.
pub fn logout(api: &Endpoint, given: Option<String>, out: &mut impl Write) -> anyhow::Result<()> {
    let url = api.url();
    let saved = read_saved().filter(|s| same_gateway(&s.url, url));
    let token = given
        .clone()
        .or_else(|| saved.as_ref().map(|s| s.token.clone()))
        .ok_or_else(|| anyhow!("not logged in to {url} (no saved session, no --token or SLUICE_TOKEN)"))?;
    let revoked =
        Client::new(api, Secret::new(token.clone())).and_then(|c| c.call("POST", "/api/v1/auth/logout"));
    let mut removed = false;
    if let (Some(saved), Some(path)) = (saved, session_path()) {
        if saved.token == token {
            std::fs::remove_file(&path).with_context(|| format!("cannot delete {}", path.display()))?;
            removed = true;
        }
    }
    match revoked {
        Ok(_) => writeln!(out, "Logged out: the session token is revoked.")?,
        Err(e) if removed => writeln!(
            out,
            "The gateway did not revoke the token ({e}); it may already be expired or revoked."
        )?,
        Err(e) => return Err(e),
    }
    if removed {
        writeln!(out, "Deleted the saved session.")?;
    }
    Ok(())
}

/// `sluice whoami`: user, role, groups, how the token was obtained and when it expires.
pub fn whoami(api: &Endpoint, given: Option<String>, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let token = token_for(api.url(), given)
        .ok_or_else(|| anyhow!("no token: run `sluice login`, or set SLUICE_TOKEN or --token"))?;
    let session = Client::new(api, Secret::new(token))?.get("/api/v1/auth/session", &[])?;
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&session)?)?;
        return Ok(());
    }
    let user = at(&session, "user");
    let list = |v: &Value| {
        let items: Vec<&str> = v
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if items.is_empty() {
            "-".to_owned()
        } else {
            items.join(", ")
        }
    };
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    writeln!(out, "name:     {}", text(at(user, "name")))?;
    writeln!(out, "kind:     {}", text(at(user, "kind")))?;
    writeln!(out, "role:     {}", text(at(user, "role")))?;
    writeln!(out, "groups:   {}", list(at(user, "groups")))?;
    let via = match (
        at(&session, "method").as_str(),
        at(&session, "login_session").as_bool(),
    ) {
        (Some("provider"), _) => format!("provider token ({})", text(at(&session, "provider"))),
        (_, Some(true)) => format!("login via {}", text(at(&session, "provider"))),
        _ => "API token".to_owned(),
    };
    writeln!(out, "auth:     {via}")?;
    writeln!(
        out,
        "expires:  {}",
        at(&session, "expires_at").as_str().unwrap_or("never")
    )?;
    if at(user, "disabled").as_bool() == Some(true) {
        bail!("this user is disabled");
    }
    Ok(())
}
