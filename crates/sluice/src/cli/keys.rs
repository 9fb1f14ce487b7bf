//! `sluice key`: the SSH public keys you log in to the SSH gateway with (`ssh -p PORT you%CONNECTION@gateway`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::{json, Value};

use super::client::Client;
use super::commands::path_segment;
use super::table::{print_json, text, when, Table};

#[derive(Debug, Subcommand)]
pub(super) enum KeyCommand {
    /// Register a public key (e.g. ~/.ssh/id_ed25519.pub) for SSH logins through sluice.
    Add {
        /// The public key file (`.pub`). Never the private key.
        path: PathBuf,
        /// Label (default: the key's comment).
        #[arg(long)]
        name: Option<String>,
        /// Owner (admins only; default: yourself).
        #[arg(long)]
        user: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List your registered keys (admins: `--user`).
    List {
        /// Only this user's keys (admins).
        #[arg(long)]
        user: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a key by fingerprint (`SHA256:…`, see `sluice key list`).
    Rm {
        /// The key's fingerprint.
        fingerprint: String,
    },
}

pub(super) fn key(out: &mut impl Write, client: &Client, cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Add {
            path,
            name,
            user,
            json,
        } => {
            let line =
                std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
            if line.contains("PRIVATE KEY") {
                anyhow::bail!(
                    "{} is a private key; pass the public key ({}.pub)",
                    path.display(),
                    path.display()
                );
            }
            let mut body = serde_json::Map::new();
            body.insert("public_key".into(), json!(line.trim()));
            for (k, v) in [("name", name), ("user", user)] {
                if let Some(v) = v {
                    body.insert(k.into(), Value::String(v));
                }
            }
            let body = Value::Object(body);
            let added = client.send("POST", "/api/v1/ssh-keys", &body)?;
            if json {
                return print_json(out, &added);
            }
            Ok(writeln!(
                out,
                "added key {} for `{}`",
                text(&added, "fingerprint"),
                text(&added, "user")
            )?)
        }
        KeyCommand::List { user, json } => {
            let query: Vec<(&str, &str)> = user.as_deref().map(|u| ("user", u)).into_iter().collect();
            let keys = client.get("/api/v1/ssh-keys", &query)?;
            if json {
                return print_json(out, &keys);
            }
            let mut table = Table::new(&["FINGERPRINT", "USER", "NAME", "TYPE", "ADDED", "LAST USED"]);
            for k in keys.as_array().into_iter().flatten() {
                let kind = text(k, "public_key")
                    .split_whitespace()
                    .next()
                    .unwrap_or("-")
                    .to_owned();
                table.row(vec![
                    text(k, "fingerprint"),
                    text(k, "user"),
                    text(k, "name"),
                    kind,
                    when(k, "created_at"),
                    when(k, "last_used_at"),
                ]);
            }
            Ok(table.print(out, "no SSH keys")?)
        }
        KeyCommand::Rm { fingerprint } => {
            let k = client.call(
                "DELETE",
                &format!("/api/v1/ssh-keys/{}", path_segment(&fingerprint)),
            )?;
            Ok(writeln!(
                out,
                "removed key {} of `{}`",
                text(&k, "fingerprint"),
                text(&k, "user")
            )?)
        }
    }
}
