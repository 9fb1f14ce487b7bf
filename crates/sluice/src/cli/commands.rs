//! The client subcommands: each maps to one or two REST calls and prints a table, a block, or JSON.

use super::client::{Client, Endpoint};
use super::table::{list, print_json, text, when, Table};
use super::{
    AuditCommand, Command, ConnAddArgs, ConnCommand, ConnOptionArgs, ConnUpdateArgs, PolicyCommand,
    SessionsCommand, TokenCommand, UserCommand,
};
use anyhow::{bail, Context as _};
use serde_json::{json, Map, Value};
use sluice_model::Secret;
use std::io::{self, Read as _, Write};
use std::path::{Path, PathBuf};

/// Runs a client subcommand against the gateway at `api`.
pub(super) fn run(api: &Endpoint, token: Option<String>, command: Command) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    // `policy check` is offline: it needs neither gateway nor token.
    if let Command::Policy(PolicyCommand::Check { file }) = &command {
        return policy_check(&mut out, file);
    }
    let token = require_token(token)?;
    let client = Client::new(api, token.clone())?;
    match command {
        Command::Gateway(_)
        | Command::Policy(PolicyCommand::Check { .. })
        | Command::Login(_)
        | Command::Logout => Ok(()),
        Command::Whoami { json } => show_user(&mut out, &client.get("/api/v1/me", &[])?, json),
        Command::User(cmd) => user(&mut out, &client, cmd),
        Command::Token(cmd) => token_cmd(&mut out, &client, cmd),
        Command::Key(cmd) => super::keys::key(&mut out, &client, cmd),
        Command::Conn(cmd) => conn(&mut out, &client, cmd),
        Command::Policy(cmd) => policy(&mut out, &client, cmd),
        Command::Audit(AuditCommand::Verify { session, json }) => {
            super::sessions::verify(&mut out, &client, &session, json)
        }
        Command::Sessions(SessionsCommand::List {
            user,
            conn,
            since,
            limit,
            json,
        }) => {
            let filter = [
                ("user", user),
                ("conn", conn),
                ("since", since),
                ("limit", limit.map(|l| l.to_string())),
            ];
            super::sessions::list(&mut out, &client, filter, json)
        }
        Command::Replay {
            session,
            format,
            json,
            speed,
            no_wait,
        } => {
            let options = super::sessions::ReplayOptions {
                format: if json {
                    super::sessions::ReplayFormat::Json
                } else {
                    format
                },
                pacing: super::replay_terminal::Pacing {
                    speed,
                    wait: !no_wait,
                },
            };
            super::sessions::replay(&mut out, &mut io::stderr().lock(), &client, &session, options)
        }
        Command::Review(cmd) => super::review::review(&mut out, &client, cmd),
        Command::Request(cmd) => super::review::request(&mut out, &client, cmd),
        Command::Connect(args) => super::connect::run(&mut out, api, &client, token, args),
        Command::Audit(AuditCommand::List {
            since,
            actor,
            action,
            limit,
            json,
        }) => {
            let limit = limit.map(|l| l.to_string());
            let query: Vec<(&str, &str)> = [
                ("since", &since),
                ("actor", &actor),
                ("action", &action),
                ("limit", &limit),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
            .collect();
            let entries = client.get("/api/v1/audit", &query)?;
            if json {
                return print_json(&mut out, &entries);
            }
            let mut table = Table::new(&["TIME", "ACTOR", "ADDRESS", "ACTION", "TARGET"]);
            for e in rows(&entries) {
                table.row(vec![
                    when(e, "at"),
                    text(e, "actor"),
                    text(e, "address"),
                    text(e, "action"),
                    text(e, "target"),
                ]);
            }
            Ok(table.print(&mut out, "no audit entries")?)
        }
    }
}

/// The token, or an error that says how to give one. Never picks up the first-start admin token on its own:
/// using an admin credential should be a deliberate act, so it only hints at where that token is.
fn require_token(token: Option<String>) -> anyhow::Result<Secret<String>> {
    if let Some(token) = token.filter(|t| !t.trim().is_empty()) {
        return Ok(Secret::new(token.trim().to_owned()));
    }
    let data_dir =
        std::env::var_os("SLUICE_DATA_DIR").map_or_else(|| PathBuf::from("sluice-data"), PathBuf::from);
    let admin_token = data_dir.join("admin.token");
    let hint = if std::fs::File::open(&admin_token).is_ok() {
        format!(
            "\nhint: this machine's first-start admin token is in {0}; to use it: export SLUICE_TOKEN=$(cat {0})",
            admin_token.display()
        )
    } else {
        String::new()
    };
    bail!("no API token: pass --token or set SLUICE_TOKEN{hint}")
}

fn rows(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

pub(super) fn path_segment(name: &str) -> String {
    // Names are restricted to [A-Za-z0-9._@-] by the API; anything else is percent-encoded so the request reaches
    // the API and gets its precise "invalid name" or "not found" answer.
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b'@' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn user(out: &mut impl Write, client: &Client, cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add {
            name,
            role,
            groups,
            service,
        } => {
            let kind = if service { "service" } else { "human" };
            let body = json!({ "name": name, "role": role, "kind": kind, "groups": groups });
            let user = client.send("POST", "/api/v1/users", &body)?;
            writeln!(
                out,
                "created {} `{}` (role {})",
                text(&user, "kind"),
                text(&user, "name"),
                text(&user, "role")
            )?;
            if service {
                writeln!(
                    out,
                    "create its token with: sluice token create --user {name} --ttl 7d"
                )?;
            }
            Ok(())
        }
        UserCommand::List { json } => {
            let users = client.get("/api/v1/users", &[])?;
            if json {
                return print_json(out, &users);
            }
            let mut table = Table::new(&["NAME", "KIND", "ROLE", "GROUPS", "STATUS", "CREATED"]);
            for u in rows(&users) {
                let status = if u.get("disabled").and_then(Value::as_bool) == Some(true) {
                    "disabled"
                } else {
                    "active"
                };
                table.row(vec![
                    text(u, "name"),
                    text(u, "kind"),
                    text(u, "role"),
                    list(u, "groups"),
                    status.into(),
                    when(u, "created_at"),
                ]);
            }
            Ok(table.print(out, "no users")?)
        }
        UserCommand::Show { name, json } => show_user(
            out,
            &client.get(&format!("/api/v1/users/{}", path_segment(&name)), &[])?,
            json,
        ),
        UserCommand::SetGroups { name, groups } => {
            let path = format!("/api/v1/users/{}/groups", path_segment(&name));
            let user = client.send("PUT", &path, &json!({ "groups": groups }))?;
            Ok(writeln!(
                out,
                "user `{name}` is now in groups: {}",
                list(&user, "groups")
            )?)
        }
        UserCommand::Disable { name } => {
            client.call("POST", &format!("/api/v1/users/{}/disable", path_segment(&name)))?;
            Ok(writeln!(
                out,
                "disabled user `{name}`; their tokens no longer work"
            )?)
        }
        UserCommand::Enable { name } => {
            client.call("POST", &format!("/api/v1/users/{}/enable", path_segment(&name)))?;
            Ok(writeln!(out, "enabled user `{name}`")?)
        }
    }
}

fn show_user(out: &mut impl Write, u: &Value, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(out, u);
    }
    let disabled = u.get("disabled").and_then(Value::as_bool) == Some(true);
    writeln!(out, "name:     {}", text(u, "name"))?;
    writeln!(out, "kind:     {}", text(u, "kind"))?;
    writeln!(out, "role:     {}", text(u, "role"))?;
    writeln!(out, "groups:   {}", list(u, "groups"))?;
    writeln!(out, "status:   {}", if disabled { "disabled" } else { "active" })?;
    writeln!(out, "created:  {}", when(u, "created_at"))?;
    Ok(())
}

fn token_cmd(out: &mut impl Write, client: &Client, cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create {
            user,
            ttl,
            name,
            json,
        } => {
            let mut body = Map::new();
            for (key, value) in [("user", user), ("ttl", ttl), ("name", name)] {
                if let Some(v) = value {
                    body.insert(key.to_owned(), Value::String(v));
                }
            }
            let created = client.send("POST", "/api/v1/tokens", &Value::Object(body))?;
            if json {
                return print_json(out, &created);
            }
            writeln!(out, "{}", text(&created, "token"))?;
            let mut err = io::stderr().lock();
            writeln!(
                err,
                "token {} for `{}`, expires {}. It is shown only this once; store it now.",
                text(&created, "id"),
                text(&created, "user"),
                when(&created, "expires_at")
            )?;
            Ok(())
        }
        TokenCommand::List { user, json } => {
            let query: Vec<(&str, &str)> = user.as_deref().map(|u| ("user", u)).into_iter().collect();
            let tokens = client.get("/api/v1/tokens", &query)?;
            if json {
                return print_json(out, &tokens);
            }
            let mut table = Table::new(&["ID", "USER", "NAME", "PREFIX", "EXPIRES", "STATUS", "LAST USED"]);
            for t in rows(&tokens) {
                table.row(vec![
                    text(t, "id"),
                    text(t, "user"),
                    text(t, "name"),
                    text(t, "prefix"),
                    when(t, "expires_at"),
                    token_status(t),
                    when(t, "last_used_at"),
                ]);
            }
            Ok(table.print(out, "no tokens")?)
        }
        TokenCommand::Revoke { id } => {
            let t = client.call("DELETE", &format!("/api/v1/tokens/{}", path_segment(&id)))?;
            Ok(writeln!(
                out,
                "revoked token {} ({}) of `{}`",
                text(&t, "id"),
                text(&t, "prefix"),
                text(&t, "user")
            )?)
        }
    }
}

fn token_status(t: &Value) -> String {
    if t.get("revoked_at").is_some_and(|v| !v.is_null()) {
        return "revoked".into();
    }
    let expired = t
        .get("expires_at")
        .and_then(Value::as_str)
        .and_then(|s| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
        .is_some_and(|at| at <= time::OffsetDateTime::now_utc());
    if expired { "expired" } else { "active" }.into()
}

fn conn(out: &mut impl Write, client: &Client, cmd: ConnCommand) -> anyhow::Result<()> {
    match cmd {
        ConnCommand::Add(args) => {
            let name = args.name.clone();
            let body = conn_body(*args)?;
            let c = client.send("POST", "/api/v1/connections", &body)?;
            writeln!(
                out,
                "added connection `{name}` ({} {}:{})",
                text(&c, "type"),
                text(&c, "host"),
                text(&c, "port")
            )?;
            Ok(())
        }
        ConnCommand::List { json } => {
            let conns = client.get("/api/v1/connections", &[])?;
            if json {
                return print_json(out, &conns);
            }
            let mut table = Table::new(&[
                "NAME",
                "TYPE",
                "TARGET",
                "USER",
                "DATABASE",
                "GROUPS",
                "CREDENTIAL",
            ]);
            for c in rows(&conns) {
                table.row(vec![
                    text(c, "name"),
                    text(c, "type"),
                    format!("{}:{}", text(c, "host"), text(c, "port")),
                    text(c, "username"),
                    text(c, "database"),
                    list(c, "groups"),
                    credential_kind(c).to_owned(),
                ]);
            }
            Ok(table.print(out, "no connections")?)
        }
        ConnCommand::Show { name, json } => {
            let c = client.get(&format!("/api/v1/connections/{}", path_segment(&name)), &[])?;
            if json {
                return print_json(out, &c);
            }
            writeln!(out, "name:      {}", text(&c, "name"))?;
            writeln!(out, "type:      {}", text(&c, "type"))?;
            writeln!(out, "host:      {}", text(&c, "host"))?;
            writeln!(out, "port:      {}", text(&c, "port"))?;
            writeln!(out, "user:      {}", text(&c, "username"))?;
            writeln!(out, "database:  {}", text(&c, "database"))?;
            writeln!(out, "groups:    {}", list(&c, "groups"))?;
            writeln!(out, "{}", credential(&c))?;
            for line in option_lines(&c) {
                writeln!(out, "{line}")?;
            }
            writeln!(out, "created:   {}", when(&c, "created_at"))?;
            Ok(())
        }
        ConnCommand::Update(args) => {
            let name = args.name.clone();
            let body = conn_update_body(*args)?;
            let c = client.send(
                "PATCH",
                &format!("/api/v1/connections/{}", path_segment(&name)),
                &body,
            )?;
            writeln!(
                out,
                "updated connection `{name}` ({} {}:{}, groups {}, credential {}); new sessions use it",
                text(&c, "type"),
                text(&c, "host"),
                text(&c, "port"),
                list(&c, "groups"),
                credential_kind(&c),
            )?;
            Ok(())
        }
        ConnCommand::SetOptions { name, options } => {
            let body = Value::Object(conn_options(&options)?);
            let c = client.send(
                "PUT",
                &format!("/api/v1/connections/{}/options", path_segment(&name)),
                &body,
            )?;
            writeln!(out, "options of `{name}` replaced; new sessions use them")?;
            for line in option_lines(&c) {
                writeln!(out, "{line}")?;
            }
            Ok(())
        }
        ConnCommand::Rm { name } => {
            client.call("DELETE", &format!("/api/v1/connections/{}", path_segment(&name)))?;
            Ok(writeln!(out, "removed connection `{name}`")?)
        }
    }
}

/// `option:   KEY = VALUE` lines for `conn show`; a CA certificate is summarised (its PEM is in `--json`).
fn option_lines(c: &Value) -> Vec<String> {
    let Some(options) = c.get("options").and_then(Value::as_object) else {
        return Vec::new();
    };
    options
        .iter()
        .map(|(key, value)| {
            let shown = match (key.as_str(), value) {
                ("ca_pem", Value::String(pem)) => {
                    let n = pem.matches("-----BEGIN CERTIFICATE-----").count();
                    format!(
                        "{n} CA certificate{} (PEM; see --json)",
                        if n == 1 { "" } else { "s" }
                    )
                }
                (_, Value::String(text)) => text.clone(),
                (_, other) => other.to_string(),
            };
            format!("option:    {key} = {shown}")
        })
        .collect()
}

/// Which credential a connection has, for tables.
fn credential_kind(c: &Value) -> &'static str {
    match c.get("credential").and_then(Value::as_str) {
        Some("password") => "password",
        Some("private_key") => "private key",
        _ => "none",
    }
}

/// `password: set`, `private key: set` or `password: not set`: the API never returns the credential itself.
fn credential(c: &Value) -> String {
    match c.get("credential").and_then(Value::as_str) {
        Some("password") => "password:  set".into(),
        Some("private_key") => "private key: set".into(),
        _ => "password:  not set".into(),
    }
}

fn conn_body(args: ConnAddArgs) -> anyhow::Result<Value> {
    let options = conn_options(&args.options)?;
    let mut body = json!({
        "name": args.name,
        "type": args.protocol,
        "host": args.host,
        "groups": args.groups,
    });
    let fields = [
        ("port", args.port.map(Value::from)),
        ("username", args.user.map(Value::from)),
        ("database", args.database.map(Value::from)),
    ];
    if let Some(map) = body.as_object_mut() {
        for (key, value) in fields {
            if let Some(v) = value {
                map.insert(key.to_owned(), v);
            }
        }
        insert_credential(map, args.password_stdin, args.key_file.as_deref())?;
        if !options.is_empty() {
            map.insert("options".into(), Value::Object(options));
        }
    }
    Ok(body)
}

/// The body of `sluice conn update`: only what was given.
fn conn_update_body(args: ConnUpdateArgs) -> anyhow::Result<Value> {
    let mut map = serde_json::Map::new();
    let fields = [
        ("host", args.host.map(Value::from)),
        ("port", args.port.map(Value::from)),
        ("username", args.user.map(Value::from)),
        ("database", args.database.map(Value::from)),
        (
            "groups",
            (!args.groups.is_empty()).then(|| Value::from(args.groups)),
        ),
    ];
    for (key, value) in fields {
        if let Some(v) = value {
            map.insert(key.to_owned(), v);
        }
    }
    insert_credential(&mut map, args.password_stdin, args.key_file.as_deref())?;
    if map.is_empty() {
        anyhow::bail!(
            "nothing to change: give --host, --port, --user, --database, --group, --password-stdin or --key-file"
        );
    }
    Ok(Value::Object(map))
}

/// Adds the credential asked for: a password read from standard input, or an SSH key read from a file.
fn insert_credential(
    map: &mut serde_json::Map<String, Value>,
    password_stdin: bool,
    key_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    if password_stdin {
        map.insert(
            "password".into(),
            Value::String(read_password_stdin()?.expose().clone()),
        );
    }
    if let Some(path) = key_file {
        let key = Secret::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read key file {}", path.display()))?,
        );
        map.insert("private_key".into(), Value::String(key.expose().clone()));
    }
    Ok(())
}

/// The `options` object of `sluice conn add` and `conn set-options`: the named flags, then each
/// `--option KEY=VALUE`. The gateway checks keys and types against the protocol; here only the shape of the
/// arguments is checked.
fn conn_options(args: &ConnOptionArgs) -> anyhow::Result<serde_json::Map<String, Value>> {
    let mut options = serde_json::Map::new();
    if let Some(tls) = &args.tls {
        options.insert("tls".into(), Value::from(tls.as_str()));
    }
    if let Some(path) = &args.ca_file {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read CA file {}", path.display()))?;
        if !pem.contains("-----BEGIN CERTIFICATE-----") {
            bail!(
                "{} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
                path.display()
            );
        }
        options.insert("ca_pem".into(), Value::String(pem));
    }
    for (flag, key) in [
        (args.allow_other_databases, "allow_other_databases"),
        (args.read_only, "read_only"),
    ] {
        if flag {
            options.insert(key.into(), Value::Bool(true));
        }
    }
    if !args.tags.is_empty() {
        options.insert("tags".into(), Value::from(args.tags.clone()));
    }
    for option in &args.options {
        let Some((key, value)) = option.split_once('=') else {
            bail!("--option {option}: expected KEY=VALUE");
        };
        let key = key.trim();
        if key.is_empty() {
            bail!("--option {option}: the key is empty");
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        if options.insert(key.to_owned(), value).is_some() {
            bail!("option `{key}` is given twice");
        }
    }
    Ok(options)
}

/// Reads the password from standard input, without the trailing newline an `echo` or a terminal adds.
fn read_password_stdin() -> anyhow::Result<Secret<String>> {
    let mut raw = String::new();
    io::stdin()
        .read_to_string(&mut raw)
        .context("cannot read the password from standard input")?;
    let secret = Secret::new(raw);
    let trimmed = secret.expose().trim_end_matches(['\n', '\r']);
    if trimmed.is_empty() {
        bail!("--password-stdin: standard input was empty");
    }
    Ok(Secret::new(trimmed.to_owned()))
}

fn policy(out: &mut impl Write, client: &Client, cmd: PolicyCommand) -> anyhow::Result<()> {
    match cmd {
        PolicyCommand::Apply { file } => {
            let source = read_policy(&file)?;
            let applied = client.send("PUT", "/api/v1/policy", &json!({ "source": source }))?;
            Ok(writeln!(
                out,
                "applied {} as policy version {}",
                file.display(),
                text(&applied, "version")
            )?)
        }
        PolicyCommand::Show { json } => {
            let active = client.get("/api/v1/policy", &[])?;
            if json {
                return print_json(out, &active);
            }
            let source = active.get("source").and_then(Value::as_str).unwrap_or_default();
            write!(
                out,
                "# version {}, applied {} by {}\n{source}",
                text(&active, "version"),
                when(&active, "created_at"),
                text(&active, "created_by")
            )?;
            if !source.ends_with('\n') {
                writeln!(out)?;
            }
            Ok(())
        }
        PolicyCommand::Check { file } => policy_check(out, &file),
    }
}

fn read_policy(file: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("cannot read policy file {}", file.display()))
}

fn policy_check(out: &mut impl Write, file: &Path) -> anyhow::Result<()> {
    let source = read_policy(file)?;
    match sluice_api::policy_check::validate(&source) {
        Ok(()) => Ok(writeln!(out, "{}: ok", file.display())?),
        Err(message) => bail!("{}: {message}", file.display()),
    }
}
