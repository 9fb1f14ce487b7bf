//! `sluice connect CONNECTION`: resolves who the token belongs to and where the gateway's PostgreSQL listener is,
//! trusts the gateway's certificate, opens the local port and prints the command to paste. The relay itself is
//! [`crate::connect::Relay`].

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use rustls::pki_types::ServerName;
use serde_json::Value;
use sluice_model::Secret;

use super::client::{Client, Endpoint};
use super::commands::path_segment;
use super::table::text;
use super::ConnectArgs;
use crate::connect::Relay;

/// The gateway's PostgreSQL port when `--gateway` is not given (the default `listeners.postgres.listen`).
const DEFAULT_PG_PORT: u16 = 15432;
/// The gateway's SSH port when `--gateway` is not given (the default `listeners.ssh.listen`).
const DEFAULT_SSH_PORT: u16 = 2222;

/// SSH connections need no relay: prints an `ssh_config` block so `ssh NAME`, `scp NAME:...`, `sftp NAME` and
/// `rsync -e ssh` log in through the gateway as `USER%CONNECTION` with the user's registered key (`sluice key add`).
fn ssh_config(out: &mut impl Write, api_url: &str, user: &str, args: &ConnectArgs) -> anyhow::Result<()> {
    let gateway = match &args.gateway {
        Some(g) => g.clone(),
        None => format!("{}:{DEFAULT_SSH_PORT}", api_host(api_url)?),
    };
    let (host, port) = gateway
        .rsplit_once(':')
        .map(|(h, p)| {
            (
                h.trim_start_matches('[').trim_end_matches(']').to_owned(),
                p.to_owned(),
            )
        })
        .context("--gateway must be HOST:PORT")?;
    writeln!(
        out,
        "# Add to ~/.ssh/config, then: ssh {0}   (scp/sftp/rsync work with the name too)",
        args.connection
    )?;
    writeln!(out, "Host {}", args.connection)?;
    writeln!(out, "    HostName {host}")?;
    writeln!(out, "    Port {port}")?;
    writeln!(out, "    User {user}%{}", args.connection)?;
    writeln!(
        out,
        "    # Log in with a key registered by `sluice key add ~/.ssh/id_ed25519.pub`."
    )?;
    writeln!(
        out,
        "    # The first login shows the gateway's host key: compare it with what your admin published."
    )?;
    Ok(())
}

pub(super) fn run(
    out: &mut impl Write,
    api: &Endpoint,
    client: &Client,
    token: Secret<String>,
    args: ConnectArgs,
) -> anyhow::Result<()> {
    let api_url = api.url();
    let me = client.get("/api/v1/me", &[])?;
    let user = text(&me, "name");
    let connection = client.get(
        &format!("/api/v1/connections/{}", path_segment(&args.connection)),
        &[],
    )?;
    if connection.get("type").and_then(Value::as_str) == Some("ssh") {
        return ssh_config(out, api_url, &user, &args);
    }
    if connection.get("type").and_then(Value::as_str) != Some("postgres") {
        bail!(
            "connection `{}` is not a PostgreSQL connection (it is {}); sluice connect relays PostgreSQL only",
            args.connection,
            text(&connection, "type")
        );
    }
    let gateway = match args.gateway {
        Some(g) => g,
        None => format!("{}:{DEFAULT_PG_PORT}", api_host(api_url)?),
    };
    let host = gateway
        .rsplit_once(':')
        .map(|(h, _)| h.trim_start_matches('[').trim_end_matches(']').to_owned())
        .context("--gateway must be HOST:PORT")?;
    let server_name = ServerName::try_from(host.clone())
        .with_context(|| format!("`{host}` is not a valid host name for TLS"))?;
    let ca_cert = api
        .ca_cert()
        .map_or_else(super::trust::local_gateway_cert, std::path::Path::to_path_buf);
    let tls = super::trust::only(&ca_cert)?;
    let relay = Arc::new(Relay {
        gateway: gateway.clone(),
        server_name,
        tls,
        connection: args.connection.clone(),
        user: user.clone(),
        token,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async move {
        let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen} (choose another with --port)"))?;
        let port = listener
            .local_addr()
            .context("cannot read the local address")?
            .port();
        writeln!(
            out,
            "Relaying 127.0.0.1:{port} to `{}` through the gateway at {gateway} as {user}.",
            args.connection
        )?;
        writeln!(
            out,
            "Connect with:\n\n    psql -h 127.0.0.1 -p {port} -U {user} {}\n",
            args.connection
        )?;
        writeln!(out, "Press Ctrl-C to stop.")?;
        out.flush()?;
        tokio::select! {
            served = relay.serve(listener) => served.context("the local listener failed")?,
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(())
    })
}

/// The host of the API URL (`http://HOST:PORT/...`), where the PostgreSQL listener is assumed by default.
fn api_host(url: &str) -> anyhow::Result<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    if host.is_empty() {
        bail!("cannot tell the gateway host from the API URL `{url}`; pass --gateway HOST:PORT");
    }
    Ok(host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_host_comes_from_the_api_url() {
        assert_eq!(api_host("http://127.0.0.1:8009").unwrap(), "127.0.0.1");
        assert_eq!(api_host("https://gw.example.com/").unwrap(), "gw.example.com");
        assert_eq!(api_host("https://[::1]:8009/api").unwrap(), "[::1]");
        assert!(api_host("http://").is_err());
    }
}
