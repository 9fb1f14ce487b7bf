//! Connection options as an admin sets them with the real CLI, against real PostgreSQL servers with TLS on (one with
//! a self-signed certificate, one with a certificate a CA signed, both for 127.0.0.1): `--tls verify-full --ca-file`
//! verifies the target with the connection's own certificates and the session really runs over TLS; without them,
//! or with another CA, the certificate is refused with a FATAL that says so and how to fix it; `--allow-other-databases` reaches the proxy; and the API refuses options the protocol does
//! not have or values of the wrong type, naming them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::Value;
use sluice_testbed::postgres::Postgres;
use std::process::Output;
use support::Gateway;

/// psql through the gateway (TLS on the client leg) on `dbname`.
async fn psql(gw: &Gateway, user: &str, token: &str, dbname: &str, sql: &str) -> Output {
    gw.psql(user, token, dbname, "require", sql).await
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// psql through the gateway on `dbname` as alice, which must fail (`why` says why); what it printed.
async fn refused(gw: &Gateway, token: &str, dbname: &str, why: &str) -> String {
    let out = psql(gw, "alice", token, dbname, "select 1").await;
    assert!(!out.status.success(), "{why}");
    stderr(&out)
}

/// A throwaway PostgreSQL whose certificate a fresh CA issued for `names` (OpenSSL `subjectAltName` syntax), and
/// that CA's certificate file.
async fn ca_signed_target(names: &'static str) -> (Postgres, String) {
    tokio::task::spawn_blocking(move || {
        let pg = Postgres::start().expect("throwaway PostgreSQL starts");
        let ca = pg
            .enable_tls_signed_by_ca(names)
            .expect("CA-signed TLS on the throwaway PostgreSQL");
        (pg, ca.to_str().unwrap().to_owned())
    })
    .await
    .unwrap()
}

/// Whether the gateway's session to the target uses TLS, as PostgreSQL itself reports it.
const SSL_IN_USE: &str = "select ssl from pg_stat_ssl where pid = pg_backend_pid()";

#[tokio::test(flavor = "multi_thread")]
async fn target_tls_and_options_set_with_the_cli() {
    let (target, root) = tokio::task::spawn_blocking(|| {
        let pg = Postgres::start().expect("throwaway PostgreSQL starts");
        let root = pg.enable_tls().expect("TLS on the throwaway PostgreSQL");
        (pg, root)
    })
    .await
    .unwrap();
    let root = root.to_str().unwrap().to_owned();
    let gw = Gateway::start().await;
    let alice = gw.user_with_token("alice", "user", &["dba"]).await;

    // Verified with the connection's own CA: the session runs, over TLS, and may pick another database.
    gw.add_pg_connection_with(
        &target,
        "pg-tls",
        "dba",
        &[
            "--tls",
            "verify-full",
            "--ca-file",
            &root,
            "--allow-other-databases",
        ],
    )
    .await
    .success();
    let out = psql(&gw, "alice", &alice, "pg-tls", SSL_IN_USE).await;
    assert!(out.status.success(), "psql failed: {}", stderr(&out));
    assert_eq!(stdout(&out), "t", "the target leg runs over TLS");
    let out = psql(
        &gw,
        "alice",
        &alice,
        "pg-tls/postgres",
        "select current_database()",
    )
    .await;
    assert!(out.status.success(), "psql failed: {}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "postgres",
        "--allow-other-databases reached the proxy"
    );

    // The options are shown back (the CA is public), the credential is not.
    let shown: Value = serde_json::from_str(
        &gw.cli(&gw.admin_token, &["conn", "show", "pg-tls", "--json"])
            .await
            .success()
            .stdout,
    )
    .unwrap();
    assert_eq!(shown["options"]["tls"], "verify-full");
    assert_eq!(shown["options"]["allow_other_databases"], true);
    assert!(shown["options"]["ca_pem"]
        .as_str()
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    assert!(!shown.to_string().contains(target.password()));

    // A target whose certificate a CA signed, as managed databases have it: the chain is verified up to the CA
    // given, for the target's host name.
    let (signed, ca) = ca_signed_target("DNS:localhost,IP:127.0.0.1").await;
    gw.add_pg_connection_with(
        &signed,
        "pg-ca",
        "dba",
        &["--tls", "verify-full", "--ca-file", &ca],
    )
    .await
    .success();
    let out = psql(&gw, "alice", &alice, "pg-ca", SSL_IN_USE).await;
    assert!(out.status.success(), "psql failed: {}", stderr(&out));
    assert_eq!(stdout(&out), "t");
    // Another CA (the first target's certificate) does not vouch for it.
    gw.add_pg_connection_with(
        &signed,
        "pg-wrong-ca",
        "dba",
        &["--tls", "require", "--ca-file", &root],
    )
    .await
    .success();
    let err = refused(
        &gw,
        &alice,
        "pg-wrong-ca",
        "a certificate from another CA must not pass",
    )
    .await;
    assert!(err.contains("TLS certificate"), "{err}");
    assert!(
        err.contains("not signed by a CA the connection trusts"),
        "the problem is named: {err}"
    );

    // Signed by the CA given but issued for another host: refused for that reason, as libpq's verify-full
    // would, because a certificate for any name from a shared CA would otherwise do.
    let (misnamed, misnamed_ca) = ca_signed_target("DNS:db.internal").await;
    gw.add_pg_connection_with(
        &misnamed,
        "pg-misnamed",
        "dba",
        &["--tls", "verify-full", "--ca-file", &misnamed_ca],
    )
    .await
    .success();
    let err = refused(
        &gw,
        &alice,
        "pg-misnamed",
        "a certificate for another host must not pass",
    )
    .await;
    assert!(
        err.contains("not issued for the host name the connection uses"),
        "the problem is named: {err}"
    );
    assert!(
        !err.contains(&misnamed.port().to_string()),
        "no target address: {err}"
    );

    // Without the CA (the system's trust store does not know this throwaway one): refused, saying why and what
    // to do; the target's address is not in the message.
    gw.add_pg_connection_with(&target, "pg-untrusted", "dba", &["--tls", "require"])
        .await
        .success();
    let err = refused(
        &gw,
        &alice,
        "pg-untrusted",
        "an untrusted certificate must not pass",
    )
    .await;
    assert!(err.contains("FATAL"), "{err}");
    assert!(err.contains("TLS certificate"), "{err}");
    assert!(err.contains("--ca-file"), "the fix is named: {err}");
    assert!(
        !err.contains(&target.port().to_string()),
        "no target address: {err}"
    );
    // Fixed as the message says, without re-entering the credential: the next session verifies with the CA.
    let set = gw
        .cli(
            &gw.admin_token,
            &[
                "conn",
                "set-options",
                "pg-untrusted",
                "--tls",
                "verify-full",
                "--ca-file",
                &root,
            ],
        )
        .await
        .success();
    assert!(set.stdout.contains("tls = verify-full"), "{}", set.stdout);
    let out = psql(&gw, "alice", &alice, "pg-untrusted", SSL_IN_USE).await;
    assert!(out.status.success(), "psql failed: {}", stderr(&out));
    assert_eq!(stdout(&out), "t");
    // Options are replaced whole and checked as at creation; the change is in the audit log.
    let refused = gw
        .cli(
            &gw.admin_token,
            &[
                "conn",
                "set-options",
                "pg-untrusted",
                "--option",
                "exec_only=true",
            ],
        )
        .await
        .failure();
    assert!(refused.stderr.contains("exec_only"), "{}", refused.stderr);
    let audit = gw
        .cli(
            &gw.admin_token,
            &["audit", "list", "--action", "connection.set_options", "--json"],
        )
        .await
        .success()
        .stdout;
    assert!(audit.contains("pg-untrusted"), "{audit}");

    // Another database is refused where the connection does not allow it.
    gw.add_pg_connection(&target, "pg-plain", "dba").await;
    let out = psql(&gw, "alice", &alice, "pg-plain", SSL_IN_USE).await;
    assert_eq!(stdout(&out), "f", "no TLS unless asked for: {}", stderr(&out));
    let out = psql(&gw, "alice", &alice, "pg-plain/postgres", "select 1").await;
    assert!(!out.status.success(), "another database needs the option");

    // The API refuses what the protocol does not have, and wrong types, naming the option.
    let refused = gw
        .add_pg_connection_with(&target, "pg-typo", "dba", &["--option", "read_onyl=true"])
        .await
        .failure();
    assert!(refused.stderr.contains("read_onyl"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("read_only"),
        "the known keys are listed: {}",
        refused.stderr
    );
    let refused = gw
        .add_pg_connection_with(&target, "pg-typo", "dba", &["--option", "exec_only=true"])
        .await
        .failure();
    assert!(refused.stderr.contains("exec_only"), "{}", refused.stderr);
    let refused = gw
        .add_pg_connection_with(&target, "pg-typo", "dba", &["--option", "tls=prefer"])
        .await
        .failure();
    assert!(refused.stderr.contains("verify-full"), "{}", refused.stderr);
    let not_pem = gw.data_dir().join("not-a-ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let refused = gw
        .add_pg_connection_with(
            &target,
            "pg-typo",
            "dba",
            &["--tls", "require", "--ca-file", not_pem.to_str().unwrap()],
        )
        .await
        .failure();
    assert!(
        refused.stderr.contains("no PEM certificate"),
        "{}",
        refused.stderr
    );
    let listed = gw
        .cli(&gw.admin_token, &["conn", "list", "--json"])
        .await
        .success()
        .stdout;
    assert!(
        !listed.contains("pg-typo"),
        "nothing was stored for a refused request: {listed}"
    );
}
