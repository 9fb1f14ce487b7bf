//! The throwaway PostgreSQL server: starts, answers, authenticates with SCRAM over TCP, stops, and cleans up.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sluice_testbed::postgres::Postgres;
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

/// `psql` over TCP with the given password (so SCRAM authentication is exercised), returning the output or stderr.
fn psql_over_tcp(pg: &Postgres, password: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("PGPASSWORD", password)
        .args([
            "-X",
            "-w",
            "-A",
            "-t",
            "-h",
            pg.host(),
            "-p",
            &pg.port().to_string(),
            "-U",
            pg.user(),
            "-d",
        ])
        .arg(pg.database())
        .args(["-c", sql])
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap().trim().to_owned())
    } else {
        Err(String::from_utf8(out.stderr).unwrap())
    }
}

#[test]
fn a_started_server_answers_queries_in_its_test_database() {
    let pg = Postgres::start().unwrap();
    assert_eq!(pg.query("select 6 * 7").unwrap(), "42");
    assert_eq!(pg.query("select current_database()").unwrap(), "sluice_test");
    assert_eq!(pg.query("select current_user").unwrap(), "sluice");
    assert_eq!(
        pg.query("select rolsuper from pg_roles where rolname = current_user")
            .unwrap(),
        "t"
    );
    pg.query("create table t (id int primary key, name text); insert into t values (1, 'one')")
        .unwrap();
    assert_eq!(pg.query("select name from t where id = 1").unwrap(), "one");
}

#[test]
fn tcp_connections_authenticate_with_scram_and_reject_a_wrong_password() {
    let pg = Postgres::start().unwrap();
    assert_eq!(psql_over_tcp(&pg, pg.password(), "select 1").unwrap(), "1");
    let method = pg
        .query("select auth_method from pg_hba_file_rules where type = 'host' and address = '127.0.0.1' and 'all' = any(database)")
        .unwrap();
    assert_eq!(method, "scram-sha-256");
    let stored = pg
        .query("select left(rolpassword, 14) from pg_authid where rolname = current_user")
        .unwrap();
    assert_eq!(stored, "SCRAM-SHA-256$");
    let err = psql_over_tcp(&pg, "not-the-password", "select 1").unwrap_err();
    assert!(err.contains("password authentication failed"), "{err}");
}

#[test]
fn the_url_names_host_port_user_password_and_database() {
    let pg = Postgres::start().unwrap();
    let url = pg.url();
    assert_eq!(
        url,
        format!(
            "postgres://sluice:{}@127.0.0.1:{}/sluice_test",
            pg.password(),
            pg.port()
        )
    );
    let out = Command::new("psql")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .args(["-X", "-w", "-A", "-t", &url, "-c", "select current_database()"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "sluice_test");
}

#[test]
fn two_servers_run_side_by_side_with_separate_ports_passwords_and_data() {
    let a = Postgres::start().unwrap();
    let b = Postgres::start().unwrap();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.password(), b.password());
    assert_ne!(a.socket_dir(), b.socket_dir());
    a.query("create table only_in_a (x int)").unwrap();
    assert_eq!(
        a.query("select count(*) from pg_tables where tablename = 'only_in_a'")
            .unwrap(),
        "1"
    );
    assert_eq!(
        b.query("select count(*) from pg_tables where tablename = 'only_in_a'")
            .unwrap(),
        "0"
    );
    assert!(psql_over_tcp(&b, a.password(), "select 1").is_err());
}

#[test]
fn dropping_a_server_stops_it_and_removes_its_directory() {
    let pg = Postgres::start().unwrap();
    let port = pg.port();
    let dir = pg.socket_dir().to_path_buf();
    let pid: u32 = std::fs::read_to_string(pg.data_dir().join("postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    drop(pg);
    assert!(!dir.exists(), "{} is left behind", dir.display());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "postmaster {pid} survived"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still accepts connections"
    );
}

#[test]
fn a_killed_server_drops_its_clients_and_can_be_restarted_with_its_data() {
    let mut pg = Postgres::start().unwrap();
    pg.query("create table survives (x int); insert into survives values (7)")
        .unwrap();
    let mut client = Command::new("psql")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .args(["-X", "-w", &pg.url(), "-c", "select pg_sleep(60)"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while pg
        .query("select count(*) from pg_stat_activity where query like 'select pg_sleep%'")
        .unwrap()
        != "1"
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the client never got its query running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    pg.kill();
    assert!(!pg.is_running());
    let status = client.wait().unwrap();
    assert!(!status.success(), "the client's query finished despite the kill");
    assert!(pg.query("select 1").is_err());

    pg.restart().unwrap();
    assert!(pg.is_running());
    assert_eq!(pg.query("select x from survives").unwrap(), "7");
    assert_eq!(psql_over_tcp(&pg, pg.password(), "select 1").unwrap(), "1");
}

#[test]
fn a_stopped_server_refuses_connections_until_restarted() {
    let mut pg = Postgres::start().unwrap();
    pg.stop();
    assert!(!pg.is_running());
    assert!(TcpStream::connect(("127.0.0.1", pg.port())).is_err());
    pg.stop();
    pg.restart().unwrap();
    assert_eq!(pg.query("select 'back'").unwrap(), "back");
}

#[test]
fn the_debug_output_hides_the_password() {
    let pg = Postgres::start().unwrap();
    let debug = format!("{pg:?}");
    assert!(debug.contains(&pg.port().to_string()), "{debug}");
    assert!(!debug.contains(pg.password()), "{debug}");
}

#[test]
fn with_tls_enabled_a_verify_full_client_connects_encrypted() {
    let pg = Postgres::start().unwrap();
    let root = pg.enable_tls().unwrap();
    let out = Command::new("psql")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("PGPASSWORD", pg.password())
        .env("PGSSLROOTCERT", &root)
        .args(["-X", "-w", "-A", "-t"])
        .arg(format!(
            "host=localhost port={} user={} dbname={} sslmode=verify-full",
            pg.port(),
            pg.user(),
            pg.database()
        ))
        .args(["-c", "select ssl from pg_stat_ssl where pid = pg_backend_pid()"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "t");
    // Plain connections still work, and say so.
    let plain = Command::new("psql")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("PGPASSWORD", pg.password())
        .args(["-X", "-w", "-A", "-t"])
        .arg(format!(
            "host=127.0.0.1 port={} user={} dbname={} sslmode=disable",
            pg.port(),
            pg.user(),
            pg.database()
        ))
        .args(["-c", "select ssl from pg_stat_ssl where pid = pg_backend_pid()"])
        .output()
        .unwrap();
    assert!(
        plain.status.success(),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    assert_eq!(String::from_utf8(plain.stdout).unwrap().trim(), "f");
}
