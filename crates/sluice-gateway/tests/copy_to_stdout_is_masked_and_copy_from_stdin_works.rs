//! COPY in both directions: data flows in from the client, and COPY TO output is masked.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::Write as _;
use std::process::Stdio;

use support::{stderr, stdout, Harness, CARD};

#[test]
fn copy_to_stdout_is_masked_and_copy_from_stdin_works() {
    let h = Harness::start();
    h.pg.query("CREATE TABLE cards (id int, card text)").unwrap();

    let mut child = std::process::Command::new("psql")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PGPASSWORD", &h.token)
        .args(["-X", "-w", "-A", "-t"])
        .arg(h.conninfo("alice", "pg-test", "require"))
        .args(["-c", "COPY cards FROM STDIN"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for i in 0..1000 {
        input.push_str(&format!("{i}\t{CARD}\n"));
    }
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        h.pg.query(&format!("SELECT count(*) FROM cards WHERE card = '{CARD}'"))
            .unwrap(),
        "1000"
    );

    let out = h.psql(&["-c", "COPY (SELECT * FROM cards ORDER BY id) TO STDOUT"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1000);
    assert!(!text.contains(CARD), "card number leaked through COPY TO");
    assert!(text.starts_with("0\t"), "{}", &text[..40.min(text.len())]);
}
