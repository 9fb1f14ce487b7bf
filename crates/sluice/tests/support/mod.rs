//! Shared helpers of the end-to-end tests: an in-process gateway on a temp data dir, the real `sluice` binary,
//! and raw HTTP calls.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use serde_json::Value;
use sluice::gateway::{self, RunningGateway};
use sluice_config::Config;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A gateway running in this process on a fresh temp data dir, with its admin token.
pub struct Gateway {
    pub running: RunningGateway,
    pub admin_token: String,
    pub dir: tempfile::TempDir,
}

impl Gateway {
    pub async fn start() -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir).await
    }

    pub async fn start_in(dir: tempfile::TempDir) -> Gateway {
        let config = Config::for_data_dir(dir.path().join("data"));
        let running = gateway::start(config).await.expect("gateway starts");
        let admin_token = running
            .admin_token
            .as_ref()
            .expect("first start has an admin token")
            .expose()
            .clone();
        Gateway {
            running,
            admin_token,
            dir,
        }
    }

    pub fn url(&self) -> String {
        self.running.api_url.clone()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.running.data_dir.clone()
    }

    /// Runs the `sluice` CLI against this gateway with `token`, in a blocking thread.
    pub async fn cli(&self, token: &str, args: &[&str]) -> CliOutput {
        self.cli_with_stdin(token, args, None).await
    }

    pub async fn cli_with_stdin(&self, token: &str, args: &[&str], stdin: Option<&str>) -> CliOutput {
        let url = self.url();
        let token = token.to_owned();
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        let stdin = stdin.map(str::to_owned);
        let cwd = self.dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || run_cli(&cwd, &url, &token, &args, stdin.as_deref()))
            .await
            .unwrap()
    }

    /// A raw HTTP call; returns status and JSON body (Null when empty).
    pub async fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.url());
        let (method, token, body) = (
            method.to_owned(),
            token.map(str::to_owned),
            body.map(str::to_owned),
        );
        tokio::task::spawn_blocking(move || http(&method, &url, token.as_deref(), body.as_deref()))
            .await
            .unwrap()
    }

    /// Adds the PostgreSQL connection `name` for `target`, allowed to `group`, with the real CLI as admin (the
    /// target password on standard input).
    pub async fn add_pg_connection(
        &self,
        target: &sluice_testbed::postgres::Postgres,
        name: &str,
        group: &str,
    ) {
        self.add_pg_connection_with(target, name, group, &[])
            .await
            .success();
    }

    /// `sluice conn add` for `target` with `extra` arguments (options), as admin; the caller checks the outcome.
    pub async fn add_pg_connection_with(
        &self,
        target: &sluice_testbed::postgres::Postgres,
        name: &str,
        group: &str,
        extra: &[&str],
    ) -> CliOutput {
        let port = target.port().to_string();
        let mut args = vec![
            "conn",
            "add",
            name,
            "--type",
            "postgres",
            "--host",
            target.host(),
            "--port",
            &port,
            "--user",
            target.user(),
            "--database",
            target.database(),
            "--group",
            group,
            "--password-stdin",
        ];
        args.extend_from_slice(extra);
        self.cli_with_stdin(&self.admin_token, &args, Some(target.password()))
            .await
    }

    /// Runs psql (blocking, in a thread) through the PostgreSQL listener as `user` with `password`, on `dbname` (a
    /// connection, or `connection/database`), with `-X -A -t` and `ON_ERROR_STOP=0`.
    pub async fn psql(&self, user: &str, password: &str, dbname: &str, sslmode: &str, sql: &str) -> Output {
        let addr = self.running.pg_addr.expect("the PostgreSQL listener is enabled");
        let conninfo = format!(
            "host={} port={} user={user} dbname={dbname} sslmode={sslmode} connect_timeout=10",
            addr.ip(),
            addr.port()
        );
        let (password, sql) = (password.to_owned(), sql.to_owned());
        tokio::task::spawn_blocking(move || {
            Command::new("psql")
                .args([
                    conninfo.as_str(),
                    "-X",
                    "-A",
                    "-t",
                    "-v",
                    "ON_ERROR_STOP=0",
                    "-c",
                    &sql,
                ])
                .env("PGPASSWORD", password)
                .env("PGCONNECT_TIMEOUT", "10")
                .output()
                .expect("psql runs (Debian package postgresql-client)")
        })
        .await
        .unwrap()
    }

    /// Applies `policy` (TOML) with the real CLI as admin.
    pub async fn apply_policy(&self, policy: &str) {
        let file = self.dir.path().join("policy.toml");
        std::fs::write(&file, policy).unwrap();
        self.cli(&self.admin_token, &["policy", "apply", file.to_str().unwrap()])
            .await
            .success();
    }

    /// Creates a user with the CLI as admin and returns a fresh token for them.
    pub async fn user_with_token(&self, name: &str, role: &str, groups: &[&str]) -> String {
        let mut args = vec!["user", "add", name, "--role", role];
        for g in groups {
            args.extend(["--group", g]);
        }
        self.cli(&self.admin_token, &args).await.success();
        let out = self
            .cli(
                &self.admin_token,
                &["token", "create", "--user", name, "--ttl", "1h"],
            )
            .await
            .success();
        out.stdout.trim().to_owned()
    }
}

pub struct CliOutput {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    pub fn success(self) -> CliOutput {
        assert!(
            self.status.success(),
            "sluice failed: stdout={} stderr={}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn failure(self) -> CliOutput {
        assert!(
            !self.status.success(),
            "sluice should have failed: stdout={}",
            self.stdout
        );
        self
    }
}

pub fn sluice_bin() -> &'static str {
    env!("CARGO_BIN_EXE_sluice")
}

pub fn run_cli(cwd: &Path, url: &str, token: &str, args: &[String], stdin: Option<&str>) -> CliOutput {
    let mut cmd = Command::new(sluice_bin());
    cmd.args(args)
        .current_dir(cwd)
        .env_clear()
        .env("SLUICE_URL", url)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !token.is_empty() {
        cmd.env("SLUICE_TOKEN", token);
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    CliOutput {
        status,
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

pub fn http(method: &str, url: &str, token: Option<&str>, body: Option<&str>) -> (u16, Value) {
    let mut req = ureq::request(method, url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let result = match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(b),
        None => req.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = response.status();
    let text = response.into_string().unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

pub fn error_code(v: &Value) -> String {
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {v}"))
        .to_owned()
}

/// A loopback port that was free a moment ago (for subprocess gateways that must be told a port).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `sluice gateway` child process with its standard output and error captured in files.
pub struct GatewayProcess {
    pub child: std::process::Child,
    pub url: String,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
}

impl GatewayProcess {
    /// Starts `sluice gateway --data-dir DATA --api-listen 127.0.0.1:PORT` and waits until `/healthz` answers.
    pub fn spawn(work: &Path, data_dir: &Path, env: &[(&str, &str)], label: &str) -> GatewayProcess {
        let port = free_port();
        let stdout_path = work.join(format!("{label}.stdout"));
        let stderr_path = work.join(format!("{label}.stderr"));
        let mut cmd = Command::new(sluice_bin());
        cmd.args([
            "gateway",
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--api-listen",
            &format!("127.0.0.1:{port}"),
        ])
        .current_dir(work)
        .env_clear()
        // Every listener on a free loopback port, so parallel tests never collide.
        .env("SLUICE_POSTGRES_LISTEN", "127.0.0.1:0")
        .env("SLUICE_SSH_LISTEN", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let mut process = GatewayProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
            stdout_path,
            stderr_path,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(status) = process.child.try_wait().unwrap() {
                panic!("gateway exited with {status}: {}", process.stderr());
            }
            if ureq::get(&format!("{}/healthz", process.url)).call().is_ok() {
                return process;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "gateway did not come up: {}",
                process.stderr()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) -> (String, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "gateway exited with {exit}: {}", self.stderr());
        (self.stdout(), self.stderr())
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap()
    }
}

/// Runs `sluice gateway ARGS` expecting it to refuse to start; returns its standard error.
pub fn gateway_refuses(work: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(sluice_bin());
    cmd.arg("gateway")
        .args(args)
        .current_dir(work)
        .env_clear()
        .env("SLUICE_POSTGRES_LISTEN", "127.0.0.1:0")
        .env("SLUICE_SSH_LISTEN", "127.0.0.1:0")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "gateway should have refused to start");
    String::from_utf8(out.stderr).unwrap()
}
