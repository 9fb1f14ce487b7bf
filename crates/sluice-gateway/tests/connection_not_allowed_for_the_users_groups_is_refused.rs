//! A valid token does not open connections the user's groups may not use, nor connections that do not exist.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::{add_user, stderr, Harness};

#[test]
fn connection_not_allowed_for_the_users_groups_is_refused_with_fatal() {
    let h = Harness::start();
    let carol = h
        .runtime
        .block_on(add_user(&h.store, "carol", &["marketing"], None));
    let out = h.psql_as("carol", &carol, "pg-test", &["-c", "SELECT 1"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("user \"carol\" may not use connection \"pg-test\""),
        "{err}"
    );

    // An unknown connection reads the same, so connection names do not leak.
    let out = h.psql_as("alice", &h.token, "pg-nope", &["-c", "SELECT 1"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("user \"alice\" may not use connection \"pg-nope\""),
        "{}",
        stderr(&out)
    );

    h.runtime.block_on(async {
        let conninfo = format!("{} password={}", h.conninfo("carol", "pg-test", "disable"), carol);
        let err = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
            .await
            .err()
            .expect("refused");
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION)
        );
    });
}
