//! Turning file + environment + flags into a validated [`Config`].
//!
//! Each setting is resolved by one small function that knows its key, its environment variable and its default,
//! so precedence (flag > environment > file > default) is visible in one place per setting.

use crate::error::{ConfigError, Origin};
use crate::raw::{RawConfig, RawTls};
use crate::{
    ApiConfig, ApprovalsConfig, Config, ListenersConfig, LogFormat, LogLevel, LoggingConfig, MasterKeySource,
    PostgresListenerConfig, RecordingConfig, SshListenerConfig, StoreConfig, StoreUrl, TlsConfig, TlsSource,
    DEFAULT_API_LISTEN, DEFAULT_DATA_DIR, DEFAULT_MAX_BODY_BYTES, DEFAULT_POSTGRES_LISTEN,
    DEFAULT_SSH_LISTEN,
};
use sluice_model::Secret;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Smallest accepted body cap: below this even a small policy file would be refused.
const MIN_BODY_BYTES: u64 = 1024;
/// Largest accepted body cap: the API has no endpoint that needs more.
const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// Values given on the command line; they win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config FILE`
    pub config_file: Option<PathBuf>,
    /// `--data-dir DIR`
    pub data_dir: Option<PathBuf>,
    /// `--store URL` (may hold a password; never logged).
    pub store: Option<String>,
    /// `--api-listen ADDR`
    pub api_listen: Option<String>,
}

/// The `SLUICE_*` environment variables, captured once. `Debug` lists names only (one of them is the master key).
#[derive(Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// The `SLUICE_*` variables of this process.
    pub fn process() -> Self {
        Self::from_pairs(std::env::vars().filter(|(k, _)| k.starts_with("SLUICE_")))
    }

    /// An explicit set of variables (for tests).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Environment {
            vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

/// The configuration file's text, used to turn byte spans into line and column.
struct Source {
    path: PathBuf,
    text: String,
}

impl Source {
    fn origin(&self, span: Range<usize>) -> Origin {
        let before = self.text.get(..span.start).unwrap_or(&self.text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Origin::File {
            path: self.path.clone(),
            line,
            column,
        }
    }

    fn invalid<T>(&self, spanned: &Spanned<T>, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin(spanned.span()),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    /// Best-effort dotted key for a parse error at `offset`: the `[table]` header above it plus the key on its line.
    /// Serde's own message names the field for unknown keys; this names it for type errors too.
    fn key_at(&self, offset: usize) -> String {
        let before = self.text.get(..offset).unwrap_or(&self.text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_end = self
            .text
            .get(line_start..)
            .and_then(|rest| rest.find('\n'))
            .map_or(self.text.len(), |i| line_start + i);
        let line = self.text.get(line_start..line_end).unwrap_or("");
        let key = line
            .split_once('=')
            .map(|(k, _)| k.trim().trim_matches('"').to_owned());
        let table = before
            .get(..line_start)
            .unwrap_or("")
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with('['))
            .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
        match (table, key) {
            (Some(t), Some(k)) => format!("{t}.{k}"),
            (None, Some(k)) => k,
            (Some(t), None) => t,
            (None, None) => line.trim().trim_matches(|c| c == '[' || c == ']').to_owned(),
        }
    }
}

pub(crate) fn load(overrides: &Overrides, env: &Environment) -> Result<Config, ConfigError> {
    let config_file = overrides
        .config_file
        .clone()
        .or_else(|| env.get("SLUICE_CONFIG").map(PathBuf::from));
    let (raw, source) = match config_file {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let source = Source { path, text };
            let raw = toml::from_str::<RawConfig>(&source.text).map_err(|e| parse_error(&source, &e))?;
            (raw, Some(source))
        }
        None => (RawConfig::default(), None),
    };
    let data_dir = resolve_data_dir(overrides, env, &raw, &source)?;
    let store = resolve_store(overrides, env, &raw, &source, &data_dir)?;
    let api = resolve_api(overrides, env, &raw, &source)?;
    let tls = resolve_tls(env, &raw.tls, &source, &data_dir)?;
    let listeners = resolve_listeners(env, &raw, &source)?;
    let logging = resolve_logging(env, &raw)?;
    let (oidc, approvals, recording) = match &source {
        Some(src) => {
            let cx = OidcContext { source: src, env };
            (
                crate::oidc::resolve(&raw.oidc, &cx)?,
                crate::approvals::resolve(&raw.approvals, &cx)?,
                crate::approvals::resolve_recording(&raw.recording, &cx)?,
            )
        }
        None => (
            crate::oidc::OidcConfig::default(),
            ApprovalsConfig::default(),
            RecordingConfig::default(),
        ),
    };
    check_distinct_ports(env, &raw, &source, api.listen, &listeners)?;
    Ok(Config {
        data_dir,
        store,
        api,
        tls,
        listeners,
        logging,
        oidc,
        approvals,
        recording,
    })
}

/// Refuses two listeners on one address (port 0, "any free port", never collides). The error points at the
/// later listener's `listen` in the file, or at its environment variable when that set it.
fn check_distinct_ports(
    env: &Environment,
    raw: &RawConfig,
    source: &Option<Source>,
    api: SocketAddr,
    listeners: &ListenersConfig,
) -> Result<(), ConfigError> {
    let pg = listeners.postgres.as_ref().map(|pg| pg.listen);
    let ssh = listeners.ssh.as_ref().map(|ssh| ssh.listen);
    let pg_span = raw.listeners.postgres.as_ref().and_then(|l| l.listen.as_ref());
    let ssh_span = raw.listeners.ssh.as_ref().and_then(|l| l.listen.as_ref());
    let checks = [
        (
            pg,
            Some((api, "the API")),
            "postgres",
            "SLUICE_POSTGRES_LISTEN",
            pg_span,
        ),
        (ssh, Some((api, "the API")), "ssh", "SLUICE_SSH_LISTEN", ssh_span),
        (
            ssh,
            pg.map(|a| (a, "the PostgreSQL listener")),
            "ssh",
            "SLUICE_SSH_LISTEN",
            ssh_span,
        ),
    ];
    for (addr, other, name, var, spanned) in checks {
        let (Some(addr), Some((other, what))) = (addr, other) else {
            continue;
        };
        if addr.port() == 0 || addr != other {
            continue;
        }
        let origin = match (spanned, source) {
            (Some(spanned), Some(src)) if env.get(var).is_none() => src.origin(spanned.span()),
            _ => Origin::Env(var),
        };
        return Err(ConfigError::Invalid {
            origin,
            key: format!("listeners.{name}.listen"),
            message: format!("{addr} is also the address of {what}; give each listener its own port"),
        });
    }
    Ok(())
}

/// What `[oidc]` resolution needs: error positions in the file and the environment (client secrets).
struct OidcContext<'a> {
    source: &'a Source,
    env: &'a Environment,
}

impl crate::oidc::Context for OidcContext<'_> {
    fn invalid_at(&self, span: Range<usize>, key: &str, message: String) -> ConfigError {
        ConfigError::Invalid {
            origin: self.source.origin(span),
            key: key.to_owned(),
            message,
        }
    }

    fn env(&self, name: &str) -> Option<String> {
        self.env.get(name).map(str::to_owned)
    }
}

fn parse_error(source: &Source, e: &toml::de::Error) -> ConfigError {
    let span = e.span().unwrap_or(0..0);
    ConfigError::Invalid {
        origin: source.origin(span.clone()),
        key: source.key_at(span.start),
        message: e.message().to_owned(),
    }
}

/// The default SQLite store URL for a data dir (absolute path, so `sqlite:///abs/state.db`).
pub(crate) fn default_store_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("state.db").display())
}

/// TLS settings for a generated self-signed pair under `DATA_DIR/tls`.
pub(crate) fn generated_tls(data_dir: &Path, names: Vec<String>) -> TlsConfig {
    let dir = data_dir.join("tls");
    TlsConfig {
        cert_path: dir.join("cert.pem"),
        key_path: dir.join("key.pem"),
        source: TlsSource::Generated { names },
    }
}

fn absolute(path: PathBuf) -> Result<PathBuf, ConfigError> {
    if path.is_absolute() {
        Ok(path)
    } else {
        Ok(std::env::current_dir()
            .map_err(ConfigError::WorkingDir)?
            .join(path))
    }
}

fn resolve_data_dir(
    overrides: &Overrides,
    env: &Environment,
    raw: &RawConfig,
    source: &Option<Source>,
) -> Result<PathBuf, ConfigError> {
    let empty = |origin: Origin| ConfigError::Invalid {
        origin,
        key: "data_dir".into(),
        message: "must not be empty".into(),
    };
    let path = if let Some(p) = &overrides.data_dir {
        if p.as_os_str().is_empty() {
            return Err(empty(Origin::Flag("--data-dir")));
        }
        p.clone()
    } else if let Some(p) = env.get("SLUICE_DATA_DIR") {
        PathBuf::from(p)
    } else if let (Some(p), Some(src)) = (&raw.data_dir, source) {
        if p.get_ref().as_os_str().is_empty() {
            return Err(src.invalid(p, "data_dir", "must not be empty"));
        }
        p.get_ref().clone()
    } else {
        PathBuf::from(DEFAULT_DATA_DIR)
    };
    absolute(path)
}

fn check_store_url(url: &str) -> Result<(), String> {
    if url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(())
    } else {
        Err("expected a URL starting with sqlite: or postgres:// (for example postgres://sluice@db.internal/sluice)".into())
    }
}

fn resolve_store(
    overrides: &Overrides,
    env: &Environment,
    raw: &RawConfig,
    source: &Option<Source>,
    data_dir: &Path,
) -> Result<StoreConfig, ConfigError> {
    let invalid = |origin: Origin, message: String| ConfigError::Invalid {
        origin,
        key: "store.url".into(),
        message,
    };
    let url = if let Some(url) = &overrides.store {
        check_store_url(url).map_err(|m| invalid(Origin::Flag("--store"), m))?;
        url.clone()
    } else if let Some(url) = env.get("SLUICE_STORE") {
        check_store_url(url).map_err(|m| invalid(Origin::Env("SLUICE_STORE"), m))?;
        url.to_owned()
    } else if let (Some(url), Some(src)) = (&raw.store.url, source) {
        check_store_url(url.get_ref()).map_err(|m| src.invalid(url, "store.url", m))?;
        url.get_ref().clone()
    } else {
        default_store_url(data_dir)
    };
    let master_key = if let Some(key) = env.get("SLUICE_MASTER_KEY") {
        MasterKeySource::Inline(Secret::new(key.to_owned()))
    } else if let Some(path) = env.get("SLUICE_MASTER_KEY_FILE") {
        MasterKeySource::File(absolute(PathBuf::from(path))?)
    } else if let (Some(path), Some(src)) = (&raw.store.master_key_file, source) {
        if path.get_ref().as_os_str().is_empty() {
            return Err(src.invalid(path, "store.master_key_file", "must not be empty"));
        }
        MasterKeySource::File(absolute(path.get_ref().clone())?)
    } else {
        MasterKeySource::File(data_dir.join("master.key"))
    };
    Ok(StoreConfig {
        url: StoreUrl::new(url),
        master_key,
    })
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse::<SocketAddr>().map_err(|_| {
        format!("`{text}` is not a socket address; expected IP:PORT such as 127.0.0.1:8009 or [::1]:8009")
    })
}

/// Resolves one listen address by precedence: flag, environment variable, file, default.
fn resolve_addr(
    flag: Option<(&'static str, &str)>,
    env: (&'static str, &Environment),
    file: Option<(&Spanned<String>, &Option<Source>)>,
    key: &str,
    default: SocketAddr,
) -> Result<SocketAddr, ConfigError> {
    let invalid = |origin: Origin, message: String| ConfigError::Invalid {
        origin,
        key: key.to_owned(),
        message,
    };
    if let Some((name, value)) = flag {
        return parse_addr(value).map_err(|m| invalid(Origin::Flag(name), m));
    }
    if let Some(value) = env.1.get(env.0) {
        return parse_addr(value).map_err(|m| invalid(Origin::Env(env.0), m));
    }
    if let Some((value, Some(src))) = file {
        return parse_addr(value.get_ref()).map_err(|m| src.invalid(value, key, m));
    }
    Ok(default)
}

fn parse_bool_env(env: &Environment, name: &'static str, key: &str) -> Result<Option<bool>, ConfigError> {
    match env.get(name) {
        None => Ok(None),
        Some("true" | "1" | "yes") => Ok(Some(true)),
        Some("false" | "0" | "no") => Ok(Some(false)),
        Some(other) => Err(ConfigError::Invalid {
            origin: Origin::Env(name),
            key: key.to_owned(),
            message: format!("`{other}` is not a boolean; expected true or false"),
        }),
    }
}

fn resolve_api(
    overrides: &Overrides,
    env: &Environment,
    raw: &RawConfig,
    source: &Option<Source>,
) -> Result<ApiConfig, ConfigError> {
    let listen = resolve_addr(
        overrides.api_listen.as_deref().map(|v| ("--api-listen", v)),
        ("SLUICE_API_LISTEN", env),
        raw.api.listen.as_ref().map(|v| (v, source)),
        "api.listen",
        DEFAULT_API_LISTEN,
    )?;
    let tls = parse_bool_env(env, "SLUICE_API_TLS", "api.tls")?
        .or(raw.api.tls)
        .unwrap_or(false);
    let max_body_bytes = match (&raw.api.max_body_bytes, source) {
        (Some(v), Some(src)) => {
            let n = *v.get_ref();
            if !(MIN_BODY_BYTES..=MAX_BODY_BYTES).contains(&n) {
                return Err(src.invalid(
                    v,
                    "api.max_body_bytes",
                    format!("{n} is out of range; expected {MIN_BODY_BYTES} to {MAX_BODY_BYTES} bytes"),
                ));
            }
            usize::try_from(n)
                .map_err(|_| src.invalid(v, "api.max_body_bytes", "too large for this platform"))?
        }
        _ => DEFAULT_MAX_BODY_BYTES,
    };
    let mut trusted_proxies = Vec::new();
    if let (Some(list), Some(src)) = (&raw.api.trusted_proxies, source) {
        for entry in list {
            let ip = entry.get_ref().parse::<IpAddr>().map_err(|_| {
                src.invalid(
                    entry,
                    "api.trusted_proxies",
                    format!("`{}` is not an IP address", entry.get_ref()),
                )
            })?;
            trusted_proxies.push(ip);
        }
    }
    Ok(ApiConfig {
        listen,
        tls,
        max_body_bytes,
        trusted_proxies,
    })
}

fn resolve_tls(
    env: &Environment,
    raw: &RawTls,
    source: &Option<Source>,
    data_dir: &Path,
) -> Result<TlsConfig, ConfigError> {
    let env_pair = (env.get("SLUICE_TLS_CERT"), env.get("SLUICE_TLS_KEY"));
    match env_pair {
        (Some(cert), Some(key)) => {
            return Ok(TlsConfig {
                cert_path: absolute(PathBuf::from(cert))?,
                key_path: absolute(PathBuf::from(key))?,
                source: TlsSource::Provided,
            })
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(ConfigError::Invalid {
                origin: Origin::Env(if env_pair.0.is_some() {
                    "SLUICE_TLS_KEY"
                } else {
                    "SLUICE_TLS_CERT"
                }),
                key: "tls".into(),
                message: "SLUICE_TLS_CERT and SLUICE_TLS_KEY must be given together".into(),
            })
        }
        (None, None) => {}
    }
    let Some(src) = source else {
        return Ok(generated_tls(data_dir, Vec::new()));
    };
    match (&raw.cert, &raw.key) {
        (Some(cert), Some(key)) => {
            if raw.names.is_some() {
                let names = raw.names.as_ref().and_then(|n| n.first());
                if let Some(first) = names {
                    return Err(src.invalid(
                        first,
                        "tls.names",
                        "names only apply to the generated certificate; remove them or remove cert/key",
                    ));
                }
            }
            Ok(TlsConfig {
                cert_path: absolute(cert.get_ref().clone())?,
                key_path: absolute(key.get_ref().clone())?,
                source: TlsSource::Provided,
            })
        }
        (Some(only), None) => Err(src.invalid(
            only,
            "tls.cert",
            "tls.cert needs tls.key as well (or remove both to use a generated certificate)",
        )),
        (None, Some(only)) => Err(src.invalid(
            only,
            "tls.key",
            "tls.key needs tls.cert as well (or remove both to use a generated certificate)",
        )),
        (None, None) => {
            let mut names = Vec::new();
            for name in raw.names.iter().flatten() {
                let text = name.get_ref().trim();
                if text.is_empty() || text.contains(char::is_whitespace) || text.contains('/') {
                    return Err(src.invalid(
                        name,
                        "tls.names",
                        format!("`{}` is not a host name or IP address", name.get_ref()),
                    ));
                }
                names.push(text.to_owned());
            }
            Ok(generated_tls(data_dir, names))
        }
    }
}

fn resolve_listeners(
    env: &Environment,
    raw: &RawConfig,
    source: &Option<Source>,
) -> Result<ListenersConfig, ConfigError> {
    let pg = raw.listeners.postgres.as_ref();
    let pg_enabled = parse_bool_env(env, "SLUICE_POSTGRES_ENABLED", "listeners.postgres.enabled")?
        .or(pg.and_then(|s| s.enabled))
        .unwrap_or(true);
    let pg_listen = resolve_addr(
        None,
        ("SLUICE_POSTGRES_LISTEN", env),
        pg.and_then(|s| s.listen.as_ref()).map(|v| (v, source)),
        "listeners.postgres.listen",
        DEFAULT_POSTGRES_LISTEN,
    )?;
    let allow_loopback_cleartext = parse_bool_env(
        env,
        "SLUICE_POSTGRES_ALLOW_LOOPBACK_CLEARTEXT",
        "listeners.postgres.allow_loopback_cleartext",
    )?
    .or(pg.and_then(|s| s.allow_loopback_cleartext))
    .unwrap_or(false);

    let ssh = raw.listeners.ssh.as_ref();
    let ssh_enabled = parse_bool_env(env, "SLUICE_SSH_ENABLED", "listeners.ssh.enabled")?
        .or(ssh.and_then(|s| s.enabled))
        .unwrap_or(true);
    let ssh_listen = resolve_addr(
        None,
        ("SLUICE_SSH_LISTEN", env),
        ssh.and_then(|s| s.listen.as_ref()).map(|v| (v, source)),
        "listeners.ssh.listen",
        DEFAULT_SSH_LISTEN,
    )?;
    let allow_token_password = ssh.and_then(|s| s.allow_token_password).unwrap_or(false);
    let host_key_path = match (ssh.and_then(|s| s.host_key.as_ref()), source) {
        (Some(path), Some(src)) => {
            if path.get_ref().as_os_str().is_empty() {
                return Err(src.invalid(path, "listeners.ssh.host_key", "must not be empty"));
            }
            Some(absolute(path.get_ref().clone())?)
        }
        _ => None,
    };
    Ok(ListenersConfig {
        session_threads: resolve_session_threads(env, raw, source)?,
        postgres: pg_enabled.then_some(PostgresListenerConfig {
            listen: pg_listen,
            allow_loopback_cleartext,
        }),
        ssh: ssh_enabled.then_some(SshListenerConfig {
            listen: ssh_listen,
            allow_token_password,
            host_key_path,
        }),
    })
}

/// The most session threads accepted: far above any core count a gateway runs on, low enough that a typo
/// (`session_threads = 80000`) is refused instead of starting that many threads.
const MAX_SESSION_THREADS: usize = 1024;

fn resolve_session_threads(
    env: &Environment,
    raw: &RawConfig,
    source: &Option<Source>,
) -> Result<Option<NonZeroUsize>, ConfigError> {
    let expected = format!("expected a number of threads from 1 to {MAX_SESSION_THREADS}");
    let parse = |n: Option<i64>| {
        n.and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n <= MAX_SESSION_THREADS)
            .and_then(NonZeroUsize::new)
    };
    if let Some(text) = env.get("SLUICE_SESSION_THREADS") {
        return match parse(text.trim().parse().ok()) {
            Some(n) => Ok(Some(n)),
            None => Err(ConfigError::Invalid {
                origin: Origin::Env("SLUICE_SESSION_THREADS"),
                key: "listeners.session_threads".into(),
                message: format!("`{text}` is out of range; {expected}"),
            }),
        };
    }
    match (&raw.listeners.session_threads, source) {
        (Some(value), Some(src)) => match parse(Some(*value.get_ref())) {
            Some(n) => Ok(Some(n)),
            None => Err(src.invalid(
                value,
                "listeners.session_threads",
                format!("{} is out of range; {expected}", value.get_ref()),
            )),
        },
        _ => Ok(None),
    }
}

fn resolve_logging(env: &Environment, raw: &RawConfig) -> Result<LoggingConfig, ConfigError> {
    let level = match env.get("SLUICE_LOG") {
        Some(text) => LogLevel::parse(text).ok_or_else(|| ConfigError::Invalid {
            origin: Origin::Env("SLUICE_LOG"),
            key: "logging.level".into(),
            message: format!("`{text}` is not a log level; expected error, warn, info, debug or trace"),
        })?,
        None => raw.logging.level.unwrap_or(LogLevel::Info),
    };
    let format = match env.get("SLUICE_LOG_FORMAT") {
        Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            return Err(ConfigError::Invalid {
                origin: Origin::Env("SLUICE_LOG_FORMAT"),
                key: "logging.format".into(),
                message: format!("`{other}` is not a log format; expected text or json"),
            })
        }
        None => raw.logging.format.unwrap_or(LogFormat::Text),
    };
    Ok(LoggingConfig { level, format })
}
