//! Bad credentials end in a PostgreSQL FATAL with SQLSTATE 28P01 and one message for every kind of failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::{add_user, stderr, Harness};

#[test]
fn wrong_unknown_and_expired_tokens_get_the_same_fatal() {
    let h = Harness::start();
    let expired = h.runtime.block_on(add_user(
        &h.store,
        "bob",
        &["dev"],
        Some(time::OffsetDateTime::now_utc() - time::Duration::minutes(1)),
    ));
    let mut wrong = h.token.clone();
    wrong.replace_range(10..11, if &wrong[10..11] == "A" { "B" } else { "A" });

    for (user, password) in [
        ("alice", wrong.as_str()),
        ("alice", "not-a-token"),
        ("bob", expired.as_str()),
        ("alice", expired.as_str()),
    ] {
        let out = h.psql_as(user, password, "pg-test", &["-c", "SELECT 1"]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(
            err.contains(&format!("password authentication failed for user \"{user}\": the sluice token is invalid, expired or revoked")),
            "unexpected error for {user}: {err}"
        );
    }

    // The same through a driver, which shows the SQLSTATE.
    h.runtime.block_on(async {
        let conninfo = format!("{} password={}", h.conninfo("alice", "pg-test", "disable"), wrong);
        let err = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
            .await
            .err()
            .expect("refused");
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD)
        );
    });
}

#[test]
fn a_token_without_tls_is_refused_unless_loopback_cleartext_is_allowed() {
    let h = Harness::start_with(support::POLICY, false);
    let plain = |h: &Harness| {
        std::process::Command::new("psql")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PGPASSWORD", &h.token)
            .args(["-X", "-w", "-A", "-t"])
            .arg(h.conninfo("alice", "pg-test", "disable"))
            .args(["-c", "SELECT 1"])
            .output()
            .unwrap()
    };
    let out = plain(&h);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("sluice accepts tokens only over TLS"),
        "{}",
        stderr(&out)
    );
    // Over TLS the same token works.
    assert!(h.psql(&["-c", "SELECT 1"]).status.success());
    drop(h);

    let h = Harness::start();
    let out = plain(&h);
    assert!(out.status.success(), "{}", stderr(&out));
}
