//! `sluice gateway`: load configuration, set up logging, start the gateway, print the first-start admin token,
//! and run until SIGINT or SIGTERM.

use super::GatewayArgs;
use crate::gateway;
use anyhow::Context as _;
use sluice_config::{Config, LogFormat, LoggingConfig, Overrides};
use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use tracing_subscriber::EnvFilter;

pub(super) fn run(args: GatewayArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        config_file: args.config,
        data_dir: args.data_dir,
        store: args.store,
        api_listen: args.api_listen,
    };
    let config = Config::load(&overrides)?;
    init_logging(config.logging);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async move {
        let token_path = config.admin_token_path();
        let running = gateway::start(config).await?;
        if let Some(token) = &running.admin_token {
            print_first_start(token.expose(), &token_path, &running.api_url)?;
            print_listeners(&running)?;
        }
        wait_for_signal().await?;
        tracing::info!("shutting down");
        running.shutdown().await;
        Ok(())
    })
}

/// Logs go to standard error so that standard output carries only what the operator must act on.
fn init_logging(logging: LoggingConfig) {
    let filter = EnvFilter::new(format!("{},hyper=warn,sqlx=warn", logging.level.as_str()));
    // Colour only for a person at a terminal; files and log shippers get plain text.
    let ansi = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match logging.format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn print_first_start(token: &str, token_path: &Path, url: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\nsluice: first start. Created user `admin` with this token (shown once; also saved to {path}, mode 0600):\n\n    \
         {token}\n\nUse it from another terminal:\n\n    export SLUICE_URL={url}\n    export SLUICE_TOKEN=$(cat {path})\n    \
         sluice user list\n\nCreate your own admin token, then revoke this one (`sluice token list`, `sluice token revoke ID`).\n",
        path = token_path.display()
    )?;
    out.flush()?;
    Ok(())
}

/// Where clients connect, shown with the first-start instructions (later starts log it).
fn print_listeners(running: &gateway::RunningGateway) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if let Some(pg) = running.pg_addr {
        writeln!(
            out,
            "PostgreSQL clients: host={} port={} dbname=CONNECTION user=USER sslmode=require, a sluice token as the password.",
            pg.ip(),
            pg.port()
        )?;
    }
    if let Some(ssh) = running.ssh_addr {
        writeln!(
            out,
            "SSH clients: ssh -p {} USER%CONNECTION@{} (register a key with `sluice key add`).",
            ssh.port(),
            ssh.ip()
        )?;
    }
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot listen for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}
