//! A throwaway OpenID provider: the real `oidc-provider` npm package, run by node from a script this crate owns
//! (`oidc/provider.mjs`), on a random loopback port over plain http (issuer `http://127.0.0.1:PORT`), or with
//! [`OidcSetup::https`] over https with a certificate from a throwaway CA (issuer `https://127.0.0.1:PORT`, CA file
//! [`OidcProvider::ca_cert_path`]), like a provider behind an organisation's private CA.
//!
//! Identity tests need a provider that behaves like the ones sluice meets in production — discovery, JWKS, signed ID
//! tokens, JWT access tokens, PKCE, the device flow — and that a test can steer: users in groups, group changes, key
//! rotation, short token lifetimes. The npm package is installed once per machine with `npm ci` from the committed
//! lock file into `$HOME/.cache/sluice-oidc/<lock hash>/node_modules`, guarded by a file lock so parallel test
//! processes install it only once.
//!
//! The provider has a login form that checks passwords and a consent form, both plain HTML, so
//! [`OidcProvider::browser_login`] can drive the authorization code flow the way a browser would, without a browser.

#[path = "oidc_tls.rs"]
mod tls;

use crate::error::{Result, TestbedError};
use crate::process::{self, ServerProcess};
use crate::{scratch, system};
use base64::Engine as _;
use rustix::process::Signal;
use sha2::Digest as _;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

/// The provider script, written into each instance directory.
const SCRIPT: &str = include_str!("../oidc/provider.mjs");
const PACKAGE_JSON: &str = include_str!("../oidc/package.json");
const PACKAGE_LOCK: &str = include_str!("../oidc/package-lock.json");
/// How long one start of the provider may take before it is considered hung (a normal start takes about a second,
/// a few on a loaded machine), and how many times a hung start is retried.
const PROVIDER_START_TIMEOUT: Duration = Duration::from_secs(30);
const PROVIDER_START_RETRIES: usize = 2;

/// The npm package named in installation errors.
const NPM_PACKAGE: &str = "oidc-provider@9.13.3";
/// The audience (resource indicator) of every JWT access token the provider issues.
pub const RESOURCE: &str = "urn:sluice:api";
/// The redirect URI registered for native and web clients. Loopback redirects may use any port (RFC 8252 §7.3).
pub const REDIRECT_URI: &str = "http://127.0.0.1/callback";
/// How long node may take to exit after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Timeout of each HTTP request a helper makes.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// A user of the provider.
#[derive(Clone, Debug)]
pub struct OidcUser {
    /// The login name, also the `sub` and `preferred_username` claims.
    pub name: String,
    /// The password the login form checks.
    pub password: String,
    /// Emitted as `groups`, `realm_access.roles` and the comma-joined `groups_csv`.
    pub groups: Vec<String>,
}

/// What kind of client an [`OidcClient`] is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// A public client (no secret) using the authorization code flow with PKCE and the device flow, like the CLI.
    Native,
    /// A confidential client using the authorization code flow, like a web UI.
    Web,
    /// A confidential client using the client credentials grant, like a CI job; its tokens carry these groups.
    Service {
        /// The groups of the service account.
        groups: Vec<String>,
    },
}

/// A client registered at the provider. Confidential clients get a random secret ([`OidcProvider::client_secret`]).
#[derive(Clone, Debug)]
pub struct OidcClient {
    /// The `client_id`.
    pub id: String,
    /// Native, web or service.
    pub kind: ClientKind,
}

/// Users, clients and token lifetimes of a provider.
#[derive(Clone, Debug)]
pub struct OidcSetup {
    /// The users who can log in.
    pub users: Vec<OidcUser>,
    /// The registered clients.
    pub clients: Vec<OidcClient>,
    /// Lifetime of access tokens (including client credentials tokens); short values make expiry testable.
    pub access_token_ttl: Duration,
    /// Lifetime of ID tokens.
    pub id_token_ttl: Duration,
    /// Serve https with a certificate from a throwaway CA ([`OidcSetup::https`]).
    pub https: bool,
}

impl Default for OidcSetup {
    fn default() -> Self {
        OidcSetup {
            users: Vec::new(),
            clients: Vec::new(),
            access_token_ttl: Duration::from_secs(300),
            id_token_ttl: Duration::from_secs(300),
            https: false,
        }
    }
}

impl OidcSetup {
    /// Adds a user.
    pub fn user(mut self, name: &str, password: &str, groups: &[&str]) -> Self {
        self.users.push(OidcUser {
            name: name.to_owned(),
            password: password.to_owned(),
            groups: groups.iter().map(|group| (*group).to_owned()).collect(),
        });
        self
    }

    /// Serves https with a certificate for `127.0.0.1` and `localhost` from a throwaway CA, which nothing trusts
    /// unless given [`OidcProvider::ca_cert_path`].
    pub fn https(mut self) -> Self {
        self.https = true;
        self
    }

    /// Adds a client.
    pub fn client(mut self, id: &str, kind: ClientKind) -> Self {
        self.clients.push(OidcClient {
            id: id.to_owned(),
            kind,
        });
        self
    }
}

/// Tokens from a completed authorization code exchange.
#[derive(Clone, Debug)]
pub struct CodeTokens {
    /// The signed ID token.
    pub id_token: String,
    /// A JWT access token for [`RESOURCE`].
    pub access_token: String,
}

/// A running provider. Dropping it stops node and deletes its directory.
pub struct OidcProvider {
    process: Option<ServerProcess>,
    dir: TempDir,
    port: u16,
    admin_token: String,
    secrets: BTreeMap<String, String>,
    tls: Option<tls::ProviderTls>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.issuer())
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// Installs the npm package if needed and starts the provider on a free loopback port.
    pub fn start(setup: OidcSetup) -> Result<OidcProvider> {
        OidcProvider::start_at(setup, None)
    }

    /// Starts the provider on a given loopback `port` (issuer `http://127.0.0.1:PORT`), so that a gateway can be
    /// configured with the issuer before the provider runs (tests of a provider that comes up late). Fails when the
    /// port is taken.
    pub fn start_on_port(setup: OidcSetup, port: u16) -> Result<OidcProvider> {
        OidcProvider::start_at(setup, Some(port))
    }

    fn start_at(setup: OidcSetup, port: Option<u16>) -> Result<OidcProvider> {
        let node = system::find_binary("node", "nodejs", &[])?;
        let modules = install_package()?;
        let dir = scratch::instance_dir("oidc", None)?;
        write_file(&dir.path().join("provider.mjs"), SCRIPT)?;
        std::os::unix::fs::symlink(&modules, dir.path().join("node_modules"))
            .map_err(|err| TestbedError::io("linking node_modules into the instance directory", err))?;
        let mut secrets = BTreeMap::new();
        for client in &setup.clients {
            if client.kind != ClientKind::Native {
                secrets.insert(client.id.clone(), system::random_hex(24)?);
            }
        }
        let admin_token = system::random_hex(16)?;
        let cookie_key = system::random_hex(16)?;
        let tls = if setup.https {
            Some(tls::generate(dir.path())?)
        } else {
            None
        };
        let mut provider = OidcProvider {
            process: None,
            dir,
            port: 0,
            admin_token,
            secrets,
            tls,
        };
        let spawn = |provider: &OidcProvider, port: u16| {
            let config = provider.config_json(&setup, port, &cookie_key);
            let config_path = provider.dir.path().join("config.json");
            write_file(&config_path, &config.to_string())?;
            let mut command = Command::new(&node);
            command
                .arg(provider.dir.path().join("provider.mjs"))
                .arg(&config_path);
            ServerProcess::spawn(
                "oidc-provider",
                command,
                &provider.dir.path().join("provider.log"),
                Signal::TERM,
            )
        };
        let listening = |port: u16, process: &ServerProcess| {
            process.log_contains(&format!("sluice-oidc listening on {port}"))
        };
        let (port, process) = match port {
            None => process::start_on_free_port_retrying_hangs(
                PROVIDER_START_TIMEOUT,
                PROVIDER_START_RETRIES,
                |port| spawn(&provider, port),
                listening,
            )?,
            Some(port) => {
                let mut hangs = 0;
                loop {
                    let mut process = spawn(&provider, port)?;
                    let started = std::time::Instant::now();
                    match process
                        .wait_until_within(PROVIDER_START_TIMEOUT, |process| listening(port, process))
                    {
                        Ok(()) => break (port, process),
                        Err(err)
                            if hangs < PROVIDER_START_RETRIES
                                && started.elapsed() >= PROVIDER_START_TIMEOUT =>
                        {
                            hangs += 1;
                            eprintln!("sluice-testbed: warning: {err}; starting it again ({hangs}/{PROVIDER_START_RETRIES})");
                        }
                        Err(err) => return Err(err),
                    }
                }
            }
        };
        provider.port = port;
        provider.process = Some(process);
        Ok(provider)
    }

    fn config_json(&self, setup: &OidcSetup, port: u16, cookie_key: &str) -> serde_json::Value {
        let users: Vec<_> = setup
            .users
            .iter()
            .map(|user| serde_json::json!({"name": user.name, "password": user.password, "groups": user.groups}))
            .collect();
        let clients: Vec<_> = setup
            .clients
            .iter()
            .map(|client| {
                let (kind, groups) = match &client.kind {
                    ClientKind::Native => ("native", Vec::new()),
                    ClientKind::Web => ("web", Vec::new()),
                    ClientKind::Service { groups } => ("service", groups.clone()),
                };
                serde_json::json!({
                    "kind": kind,
                    "client_id": client.id,
                    "client_secret": self.secrets.get(&client.id),
                    "redirect_uris": [REDIRECT_URI],
                    "groups": groups,
                })
            })
            .collect();
        serde_json::json!({
            "port": port,
            "tls": self.tls.as_ref().map(|tls| serde_json::json!({"cert": tls.cert, "key": tls.key})),
            "admin_token": self.admin_token,
            "cookie_key": cookie_key,
            "resource": RESOURCE,
            "users": users,
            "clients": clients,
            "ttl": {
                "access_token": setup.access_token_ttl.as_secs().max(1),
                "id_token": setup.id_token_ttl.as_secs().max(1),
            },
        })
    }

    /// The issuer, `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` with [`OidcSetup::https`] (no trailing
    /// slash).
    pub fn issuer(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The PEM file of the throwaway CA that issued the provider's certificate ([`OidcSetup::https`] only).
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.tls.as_ref().map(|tls| tls.ca.as_path())
    }

    /// An HTTP client for the provider's own endpoints (trusting its CA when it serves https).
    fn agent(&self) -> ureq::Agent {
        let builder = ureq::AgentBuilder::new().redirects(0).timeout(HTTP_TIMEOUT);
        match &self.tls {
            Some(tls) => builder.tls_config(tls.client.clone()).build(),
            None => builder.build(),
        }
    }

    /// The secret of a web or service client (`None` for native clients and unknown ids).
    pub fn client_secret(&self, client_id: &str) -> Option<&str> {
        self.secrets.get(client_id).map(String::as_str)
    }

    /// The provider's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("provider.log")
    }

    /// A JWT access token for [`RESOURCE`] from the client credentials grant of the service client `client_id`.
    pub fn client_credentials_token(&self, client_id: &str) -> Result<String> {
        let secret = self
            .client_secret(client_id)
            .ok_or_else(|| http_error("client credentials", "no such confidential client"))?;
        let url = format!("{}/token", self.issuer());
        let response = self
            .agent()
            .post(&url)
            .send_form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("scope", "api"),
                ("resource", RESOURCE),
            ])
            .map_err(|err| http_error(&format!("POST {url}"), err))?;
        json_field(response, "access_token")
    }

    /// Follows an authorization URL as a browser would: logs in with `user`/`password` on the provider's form,
    /// consents, and returns the final redirect (the client's `redirect_uri` with `code`, `state` and `iss`) without
    /// requesting it.
    pub fn browser_login(&self, authorize_url: &str, user: &str, password: &str) -> Result<String> {
        match self.walk(authorize_url, user, password)? {
            Outcome::Redirect(location) => Ok(location),
            Outcome::Page(_) => Err(http_error(
                authorize_url,
                "the login ended on a provider page instead of the client's redirect_uri",
            )),
        }
    }

    /// Completes a device login as the person at the browser would: opens `verification_uri_complete` (from the
    /// device authorization response), confirms the code, logs in and consents. The device's next poll then gets
    /// its tokens.
    pub fn device_login(&self, verification_uri_complete: &str, user: &str, password: &str) -> Result<()> {
        match self.walk(verification_uri_complete, user, password)? {
            Outcome::Page(page) if page.to_ascii_lowercase().contains("success") => Ok(()),
            Outcome::Page(page) => Err(http_error(
                verification_uri_complete,
                format!("the device login did not succeed: {page}"),
            )),
            Outcome::Redirect(location) => Err(http_error(
                verification_uri_complete,
                format!("the device login left the provider for {location}"),
            )),
        }
    }

    /// Follows redirects and submits the provider's forms (the login form with the credentials, every other form
    /// with its hidden fields) until a redirect leaves the provider or a page has no form.
    fn walk(&self, start: &str, user: &str, password: &str) -> Result<Outcome> {
        let issuer = self.issuer();
        let mut browser = Browser {
            agent: self.agent(),
            cookies: BTreeMap::new(),
        };
        let mut outcome = browser.request(start, None)?;
        // login → resume → consent → resume → redirect, plus two device pages: more hops means the flow is looping.
        for _ in 0..16 {
            outcome = match outcome {
                Outcome::Redirect(location) if !location.starts_with(&issuer) => {
                    return Ok(Outcome::Redirect(location))
                }
                Outcome::Redirect(location) => browser.request(&location, None)?,
                Outcome::Page(page) => match Form::first_in(&page) {
                    None => return Ok(Outcome::Page(page)),
                    Some(mut form) => {
                        if form.has_password {
                            form.fields.push(("login".to_owned(), user.to_owned()));
                            form.fields.push(("password".to_owned(), password.to_owned()));
                        }
                        let action = absolute(&issuer, &form.action);
                        browser.request(&action, Some(&form.fields))?
                    }
                },
            };
        }
        Err(http_error(start, "the provider's pages kept redirecting"))
    }

    /// Runs the whole authorization code flow with PKCE for the native client `client_id` and returns its tokens.
    pub fn authorization_code_tokens(
        &self,
        client_id: &str,
        user: &str,
        password: &str,
    ) -> Result<CodeTokens> {
        let verifier = system::random_hex(32)?;
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        let state = system::random_hex(8)?;
        let authorize = format!(
            "{}/auth?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20profile%20groups&\
             code_challenge={challenge}&code_challenge_method=S256&state={state}&nonce={state}&resource={}",
            self.issuer(),
            form_encode(REDIRECT_URI),
            form_encode(RESOURCE),
        );
        let redirect = self.browser_login(&authorize, user, password)?;
        let code =
            query_param(&redirect, "code").ok_or_else(|| http_error(&redirect, "no code in the redirect"))?;
        let url = format!("{}/token", self.issuer());
        let response = self
            .agent()
            .post(&url)
            .send_form(&[
                ("grant_type", "authorization_code"),
                ("client_id", client_id),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ])
            .map_err(|err| http_error(&format!("POST {url}"), err))?;
        let body: serde_json::Value = response.into_json().map_err(|err| http_error(&url, err))?;
        let field = |name: &str| {
            body.get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| http_error(&url, format!("no {name} in the token response")))
        };
        Ok(CodeTokens {
            id_token: field("id_token")?,
            access_token: field("access_token")?,
        })
    }

    /// Adds a new signing key (new `kid`) that signs every token from now on; older keys stay in the JWKS.
    /// Returns the new `kid`.
    pub fn rotate_keys(&self) -> Result<String> {
        let response = self.admin("/admin/rotate-keys", serde_json::json!({}))?;
        json_field(response, "kid")
    }

    /// Replaces the groups of a user; tokens issued from now on carry them.
    pub fn set_user_groups(&self, user: &str, groups: &[&str]) -> Result<()> {
        self.admin(
            "/admin/groups",
            serde_json::json!({"user": user, "groups": groups}),
        )
        .map(drop)
    }

    /// Replaces the groups of a service client.
    pub fn set_client_groups(&self, client_id: &str, groups: &[&str]) -> Result<()> {
        self.admin(
            "/admin/groups",
            serde_json::json!({"client": client_id, "groups": groups}),
        )
        .map(drop)
    }

    fn admin(&self, path: &str, body: serde_json::Value) -> Result<ureq::Response> {
        let url = format!("{}{path}", self.issuer());
        self.agent()
            .post(&url)
            .set("x-admin-token", &self.admin_token)
            .send_json(body)
            .map_err(|err| http_error(&format!("POST {url}"), err))
    }

    /// Whether node is running.
    pub fn is_running(&self) -> bool {
        self.process.as_ref().is_some_and(|process| !process.has_exited())
    }

    /// Stops the provider (SIGTERM, then SIGKILL), e.g. to test behaviour during an outage. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.shutdown(Signal::TERM, STOP_GRACE);
        }
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where a browser request ended: a redirect (not followed) or a page.
enum Outcome {
    Redirect(String),
    Page(String),
}

/// The first HTML form of a provider page: where it posts, its hidden fields, and whether it asks for a password.
struct Form {
    action: String,
    fields: Vec<(String, String)>,
    has_password: bool,
}

impl Form {
    /// Reads the provider's own simple markup (attributes in double quotes); enough for its login, consent and
    /// device pages, not a general HTML parser.
    fn first_in(page: &str) -> Option<Form> {
        let start = page.find("<form")?;
        let body = page.get(start..)?;
        let body = body.get(..body.find("</form>").unwrap_or(body.len()))?;
        let tag_end = body.find('>')?;
        let action = attribute(body.get(..tag_end)?, "action")?;
        let inputs = body
            .split("<input")
            .skip(1)
            .filter_map(|input| input.split('>').next());
        let mut fields = Vec::new();
        let mut has_password = false;
        for input in inputs {
            match (attribute(input, "type").as_deref(), attribute(input, "name")) {
                (Some("hidden"), Some(name)) => {
                    fields.push((name, attribute(input, "value").unwrap_or_default()))
                }
                (Some("password"), _) => has_password = true,
                _ => {}
            }
        }
        Some(Form {
            action,
            fields,
            has_password,
        })
    }
}

/// The value of `name="..."` in a tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let rest = tag.get(start..)?;
    rest.get(..rest.find('"')?).map(str::to_owned)
}

fn absolute(origin: &str, location: &str) -> String {
    if location.starts_with('/') {
        format!("{origin}{location}")
    } else {
        location.to_owned()
    }
}

/// A minimal cookie-keeping HTTP client that does not follow redirects, enough to walk the provider's forms.
struct Browser {
    agent: ureq::Agent,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, response: &ureq::Response) {
        for header in response.all("set-cookie") {
            let Some((name, rest)) = header.split_once('=') else {
                continue;
            };
            let value = rest.split(';').next().unwrap_or_default();
            let expired = header.to_ascii_lowercase().contains("expires=thu, 01 jan 1970");
            if value.is_empty() || expired {
                self.cookies.remove(name.trim());
            } else {
                self.cookies.insert(name.trim().to_owned(), value.to_owned());
            }
        }
    }

    /// GETs `url`, or POSTs `form` to it, with the cookies collected so far.
    fn request(&mut self, url: &str, form: Option<&[(String, String)]>) -> Result<Outcome> {
        let cookies = self.cookie_header();
        let response = match form {
            None => self.agent.get(url).set("cookie", &cookies).call(),
            Some(fields) => {
                let fields: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str()))
                    .collect();
                self.agent.post(url).set("cookie", &cookies).send_form(&fields)
            }
        };
        let method = if form.is_some() { "POST" } else { "GET" };
        let response = response.map_err(|err| http_error(&format!("{method} {url}"), err))?;
        self.remember(&response);
        match response.header("location") {
            Some(location) => {
                let origin = url.split('/').take(3).collect::<Vec<_>>().join("/");
                Ok(Outcome::Redirect(absolute(&origin, location)))
            }
            None => response
                .into_string()
                .map(Outcome::Page)
                .map_err(|err| http_error(url, err)),
        }
    }
}

fn http_error(request: &str, message: impl std::fmt::Display) -> TestbedError {
    let message = match message.to_string() {
        text if text.is_empty() => "failed".to_owned(),
        text => text,
    };
    TestbedError::Http {
        request: request.to_owned(),
        message,
    }
}

fn json_field(response: ureq::Response, field: &str) -> Result<String> {
    let url = response.get_url().to_owned();
    let body: serde_json::Value = response.into_json().map_err(|err| http_error(&url, err))?;
    body.get(field)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| http_error(&url, format!("no {field} in {body}")))
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The value of `name` in the query of `url` (values the provider sends are URL-safe, so no decoding is needed).
fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn write_file(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).map_err(|err| TestbedError::io(format!("writing {}", path.display()), err))
}

/// Installs the npm package from the committed lock file, once per lock file version, and returns its
/// `node_modules` directory. A file lock serialises installers; a marker file says an installation is complete.
fn install_package() -> Result<PathBuf> {
    let hash: String = sha2::Sha256::digest(PACKAGE_LOCK.as_bytes())
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    let root = home.join(".cache/sluice-oidc").join(hash);
    let modules = root.join("node_modules");
    let marker = root.join("installed");
    if marker.exists() {
        return Ok(modules);
    }
    std::fs::create_dir_all(&root)
        .map_err(|err| TestbedError::io(format!("creating {}", root.display()), err))?;
    let lock_path = root.join("install.lock");
    let lock = std::fs::File::create(&lock_path)
        .map_err(|err| TestbedError::io(format!("creating {}", lock_path.display()), err))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|err| TestbedError::io(format!("locking {}", lock_path.display()), err.into()))?;
    // Another process may have finished the installation while this one waited for the lock.
    if marker.exists() {
        return Ok(modules);
    }
    let npm = system::find_binary("npm", "npm", &[]).map_err(|err| {
        TestbedError::io(
            format!("installing the npm package {NPM_PACKAGE} needs npm"),
            std::io::Error::new(std::io::ErrorKind::NotFound, err.to_string()),
        )
    })?;
    write_file(&root.join("package.json"), PACKAGE_JSON)?;
    write_file(&root.join("package-lock.json"), PACKAGE_LOCK)?;
    let mut command = Command::new(npm);
    command
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .current_dir(&root);
    system::run(&mut command).map_err(|err| match err {
        TestbedError::CommandFailed {
            command,
            status,
            output,
        } => TestbedError::CommandFailed {
            command: format!(
                "{command} (installing the npm package {NPM_PACKAGE} into {})",
                root.display()
            ),
            status,
            output,
        },
        other => other,
    })?;
    write_file(&marker, NPM_PACKAGE)?;
    Ok(modules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_serves_discovery_and_dropping_it_stops_node() {
        let provider =
            OidcProvider::start(OidcSetup::default().client("svc", ClientKind::Service { groups: vec![] }))
                .unwrap();
        let url = format!("{}/.well-known/openid-configuration", provider.issuer());
        let discovery: serde_json::Value = provider.agent().get(&url).call().unwrap().into_json().unwrap();
        assert_eq!(discovery["issuer"], provider.issuer());
        assert!(provider
            .client_secret("svc")
            .is_some_and(|secret| secret.len() == 48));
        let pid = provider.process.as_ref().unwrap().pid();
        let dir = provider.dir.path().to_path_buf();
        drop(provider);
        assert!(!crate::orphans::is_alive(pid), "node survived the drop");
        assert!(!dir.exists());
    }

    #[test]
    fn over_https_the_issuer_is_https_and_only_the_throwaway_ca_is_trusted() {
        let provider = OidcProvider::start(
            OidcSetup::default()
                .https()
                .client("svc", ClientKind::Service { groups: vec![] }),
        )
        .unwrap();
        assert!(provider.issuer().starts_with("https://127.0.0.1:"));
        let ca = std::fs::read_to_string(provider.ca_cert_path().unwrap()).unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
        let url = format!("{}/.well-known/openid-configuration", provider.issuer());
        let discovery: serde_json::Value = provider.agent().get(&url).call().unwrap().into_json().unwrap();
        assert_eq!(discovery["issuer"], provider.issuer());
        assert!(discovery["token_endpoint"]
            .as_str()
            .is_some_and(|url| url.starts_with("https://")));
        assert!(provider
            .client_credentials_token("svc")
            .unwrap()
            .starts_with("eyJ"));
        let untrusting = ureq::AgentBuilder::new().timeout(HTTP_TIMEOUT).build();
        let refused = untrusting.get(&url).call().unwrap_err().to_string();
        assert!(refused.to_lowercase().contains("certificate"), "{refused}");
    }

    #[test]
    fn form_encoding_keeps_only_unreserved_characters() {
        assert_eq!(form_encode("http://127.0.0.1/cb"), "http%3A%2F%2F127.0.0.1%2Fcb");
        assert_eq!(form_encode("a-b_c.d~e"), "a-b_c.d~e");
    }

    #[test]
    fn query_parameters_are_found_by_exact_name() {
        let url = "http://127.0.0.1/callback?xcode=no&code=abc&state=s";
        assert_eq!(query_param(url, "code").as_deref(), Some("abc"));
        assert_eq!(query_param(url, "nonce"), None);
    }
}
