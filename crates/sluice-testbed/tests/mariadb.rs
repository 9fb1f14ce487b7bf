//! The throwaway MariaDB server: starts, answers, authenticates its test user over TCP, stops, and cleans up.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sluice_testbed::mariadb::MariaDb;
use std::net::TcpStream;
use std::process::Command;

/// The `mariadb` client over TCP as `user` with `password` (via the environment, never argv), returning the output
/// or stderr.
fn mariadb_over_tcp(db: &MariaDb, user: &str, password: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("mariadb")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("MYSQL_PWD", password)
        .args([
            "--no-defaults",
            "--protocol=TCP",
            "--batch",
            "--skip-column-names",
            "-h",
            db.host(),
        ])
        .args(["-P", &db.port().to_string(), "-u", user, db.database(), "-e", sql])
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
    let db = MariaDb::start().unwrap();
    assert_eq!(db.query("select 6 * 7").unwrap(), "42");
    assert_eq!(db.query("select database()").unwrap(), "sluice_test");
    db.query("create table t (id int primary key, name text); insert into t values (1, 'one')")
        .unwrap();
    assert_eq!(db.query("select name from t where id = 1").unwrap(), "one");
    assert_eq!(db.query("select @@character_set_server").unwrap(), "utf8mb4");
}

#[test]
fn the_test_user_logs_in_over_tcp_with_its_native_password_and_a_wrong_one_is_refused() {
    let db = MariaDb::start().unwrap();
    let who = mariadb_over_tcp(&db, db.user(), db.password(), "select current_user()").unwrap();
    assert_eq!(who, "sluice@%");
    let plugin = db
        .query("select plugin from mysql.user where user = 'sluice'")
        .unwrap();
    assert_eq!(plugin, "mysql_native_password");
    let err = mariadb_over_tcp(&db, db.user(), "not-the-password", "select 1").unwrap_err();
    assert!(err.contains("Access denied"), "{err}");
    let err = mariadb_over_tcp(&db, "root", "", "select 1").unwrap_err();
    assert!(
        err.contains("Access denied"),
        "root must not log in over TCP without a password: {err}"
    );
}

#[test]
fn the_url_names_host_port_user_password_and_database() {
    let db = MariaDb::start().unwrap();
    assert_eq!(
        db.url(),
        format!(
            "mysql://sluice:{}@127.0.0.1:{}/sluice_test",
            db.password(),
            db.port()
        )
    );
}

#[test]
fn two_servers_run_side_by_side_with_separate_ports_passwords_and_data() {
    let a = MariaDb::start().unwrap();
    let b = MariaDb::start().unwrap();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.password(), b.password());
    a.query("create table only_in_a (x int)").unwrap();
    let count = "select count(*) from information_schema.tables where table_name = 'only_in_a'";
    assert_eq!(a.query(count).unwrap(), "1");
    assert_eq!(b.query(count).unwrap(), "0");
    assert!(mariadb_over_tcp(&b, b.user(), a.password(), "select 1").is_err());
}

#[test]
fn dropping_a_server_stops_it_and_removes_its_directory() {
    let db = MariaDb::start().unwrap();
    let port = db.port();
    let dir = db.data_dir().parent().unwrap().to_path_buf();
    let pid: u32 = std::fs::read_to_string(dir.join("mariadbd.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    drop(db);
    assert!(!dir.exists(), "{} is left behind", dir.display());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "mariadbd {pid} survived"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still accepts connections"
    );
}

#[test]
fn a_killed_server_refuses_connections_and_restarts_with_its_data() {
    let mut db = MariaDb::start().unwrap();
    db.query("create table survives (x int); insert into survives values (7)")
        .unwrap();
    db.kill();
    assert!(!db.is_running());
    assert!(TcpStream::connect(("127.0.0.1", db.port())).is_err());
    assert!(db.query("select 1").is_err());
    db.restart().unwrap();
    assert_eq!(db.query("select x from survives").unwrap(), "7");
    assert_eq!(
        mariadb_over_tcp(&db, db.user(), db.password(), "select 1").unwrap(),
        "1"
    );
}

#[test]
fn a_stopped_server_can_be_restarted() {
    let mut db = MariaDb::start().unwrap();
    db.stop();
    assert!(!db.is_running());
    assert!(TcpStream::connect(("127.0.0.1", db.port())).is_err());
    db.restart().unwrap();
    assert_eq!(db.query("select 'back'").unwrap(), "back");
}

#[test]
fn the_debug_output_hides_the_password() {
    let db = MariaDb::start().unwrap();
    let debug = format!("{db:?}");
    assert!(debug.contains(&db.port().to_string()), "{debug}");
    assert!(!debug.contains(db.password()), "{debug}");
}
