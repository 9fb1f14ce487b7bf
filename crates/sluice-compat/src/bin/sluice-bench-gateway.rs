//! `sluice-bench-gateway`: sluice-gateway's PostgreSQL listener as a process of its own, for `bench/pg`.
//!
//! Usage: `sluice-bench-gateway pass|full DATA_DIR` with the target in `BENCH_TARGET_HOST`, `BENCH_TARGET_PORT`,
//! `BENCH_TARGET_USER`, `BENCH_TARGET_PASSWORD`, `BENCH_TARGET_DB`. `pass` runs an empty policy (everything allowed,
//! nothing masked; sessions are still recorded), `full` the matrix's policy (DROP denied, masking with name
//! heuristics) with recording. Clients connect without TLS on loopback, like the direct and pgbouncer paths they are
//! compared with; the token is in `DATA_DIR/token` (0600), the user is `compat` and the database `pg-compat`. Prints
//! `port N` once serving, then serves until killed.
//!
//! `sluice-bench-gateway relay` is not sluice: a byte relay on the same runtime (tokio, multi-threaded, TCP_NODELAY
//! on both legs) that copies between the client and `BENCH_TARGET_HOST:BENCH_TARGET_PORT` without reading a
//! message. Clients log in with the target's own credentials. It measures the floor any tokio proxy pays on this
//! machine, which bench/README.md compares with pgbouncer and with sluice.

use sluice_compat::gateway::{Gateway, TargetLogin, POLICY};
use sluice_model::Secret;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "sluice-bench-gateway: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: sluice-bench-gateway pass|full DATA_DIR | relay (target in BENCH_TARGET_* variables)";
    let policy = match args.next().as_deref() {
        Some("pass") => "",
        Some("full") => POLICY,
        Some("relay") => return relay(),
        _ => return Err(usage.to_owned()),
    };
    let data_dir = PathBuf::from(args.next().ok_or(usage)?);
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let target = TargetLogin {
        host: var("BENCH_TARGET_HOST")?,
        port: var("BENCH_TARGET_PORT")?
            .parse()
            .map_err(|_| "BENCH_TARGET_PORT is not a port")?,
        user: var("BENCH_TARGET_USER")?,
        password: Secret::new(var("BENCH_TARGET_PASSWORD")?),
        database: var("BENCH_TARGET_DB")?,
    };
    std::fs::create_dir_all(&data_dir).map_err(|err| format!("creating {}: {err}", data_dir.display()))?;
    let gateway = Gateway::start(target, policy, &data_dir, None).map_err(|err| err.to_string())?;
    let token_path = data_dir.join("token");
    std::fs::write(&token_path, gateway.token().expose())
        .map_err(|err| format!("writing the token: {err}"))?;
    std::fs::set_permissions(&token_path, std::fs::Permissions::from_mode(0o600))
        .map_err(|err| format!("chmod the token: {err}"))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "port {}", gateway.addr().port()).map_err(|err| err.to_string())?;
    stdout.flush().map_err(|err| err.to_string())?;
    // The gateway serves on its own runtime; this thread only keeps the process (and the gateway) alive.
    loop {
        std::thread::park();
    }
}

/// The byte relay (see the module docs).
fn relay() -> Result<(), String> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let target = format!("{}:{}", var("BENCH_TARGET_HOST")?, var("BENCH_TARGET_PORT")?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|err| format!("binding: {err}"))?;
        let port = listener.local_addr().map_err(|err| err.to_string())?.port();
        let mut stdout = std::io::stdout();
        writeln!(stdout, "port {port}").map_err(|err| err.to_string())?;
        stdout.flush().map_err(|err| err.to_string())?;
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                continue;
            };
            let target = target.clone();
            tokio::spawn(async move {
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                if client.set_nodelay(true).is_err() || upstream.set_nodelay(true).is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    })
}
