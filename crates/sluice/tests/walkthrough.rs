//! The README's 5-minute walk-through, step by step, with the real `sluice` binary against a real gateway.

mod support;

use support::Gateway;

/// The README's example policy, taken from the README itself so the two cannot drift apart.
#[allow(clippy::expect_used, clippy::unwrap_used)]
fn readme_policy() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md at the workspace root");
    let start = readme
        .find("cat > policy.toml <<'EOF'\n")
        .expect("the README writes policy.toml with a here-document");
    let body = &readme[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("\nEOF").expect("the here-document ends with EOF") + 1].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn readme_walkthrough_works_with_the_cli() {
    let gw = Gateway::start().await;
    let admin = gw.admin_token.clone();

    // The first-start token is also in DATA_DIR/admin.token, readable by the owner only.
    let token_file = gw.data_dir().join("admin.token");
    assert_eq!(std::fs::read_to_string(&token_file).unwrap().trim(), admin);
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let me = gw.cli(&admin, &["whoami"]).await.success();
    assert!(
        me.stdout.contains("name:     admin") && me.stdout.contains("role:     admin"),
        "{}",
        me.stdout
    );

    // Create a user and a token for them.
    let out = gw
        .cli(&admin, &["user", "add", "alice", "--group", "dev"])
        .await
        .success();
    assert!(
        out.stdout.contains("created human `alice` (role user)"),
        "{}",
        out.stdout
    );
    let out = gw
        .cli(
            &admin,
            &[
                "token", "create", "--user", "alice", "--ttl", "12h", "--name", "laptop",
            ],
        )
        .await
        .success();
    let alice = out.stdout.trim().to_owned();
    assert!(alice.starts_with("slc_"), "{}", out.stdout);
    assert!(out.stderr.contains("shown only this once"), "{}", out.stderr);

    // Add a connection; the password comes from stdin.
    let out = gw
        .cli_with_stdin(
            &admin,
            &[
                "conn",
                "add",
                "orders-db",
                "--type",
                "postgres",
                "--host",
                "db.internal",
                "--port",
                "5432",
                "--user",
                "app",
                "--password-stdin",
                "--database",
                "orders",
                "--group",
                "dev",
            ],
            Some("s3cret-pw\n"),
        )
        .await
        .success();
    assert!(
        out.stdout
            .contains("added connection `orders-db` (postgres db.internal:5432)"),
        "{}",
        out.stdout
    );

    // List things.
    let users = gw.cli(&admin, &["user", "list"]).await.success().stdout;
    let lines: Vec<&str> = users.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("ROLE") && lines[0].contains("GROUPS"),
        "{users}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("alice") && l.contains("dev") && l.contains("active")),
        "{users}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("admin") && l.contains("admin")),
        "{users}"
    );

    let conns = gw.cli(&alice, &["conn", "list"]).await.success().stdout;
    assert!(
        conns.contains("orders-db") && conns.contains("db.internal:5432") && conns.contains("password"),
        "{conns}"
    );
    let show = gw
        .cli(&alice, &["conn", "show", "orders-db"])
        .await
        .success()
        .stdout;
    assert!(show.contains("password:  set"), "{show}");

    let tokens = gw.cli(&alice, &["token", "list"]).await.success().stdout;
    assert!(tokens.contains("laptop") && tokens.contains("active"), "{tokens}");
    assert!(
        !tokens.contains("bootstrap"),
        "alice sees only her own tokens: {tokens}"
    );

    let json = gw.cli(&admin, &["user", "list", "--json"]).await.success().stdout;
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 2);

    // Apply a policy, show it, and check a file offline.
    let policy = gw.dir.path().join("policy.toml");
    std::fs::write(&policy, readme_policy()).unwrap();
    let out = gw
        .cli(&admin, &["policy", "apply", policy.to_str().unwrap()])
        .await
        .success();
    assert!(out.stdout.contains("as policy version 1"), "{}", out.stdout);
    let shown = gw.cli(&admin, &["policy", "show"]).await.success().stdout;
    assert!(
        shown.contains("guardrail = \"drop_objects\"")
            && shown.contains("[ruleset.mask]")
            && shown.contains("by admin"),
        "{shown}"
    );
    let out = gw
        .cli("", &["policy", "check", policy.to_str().unwrap()])
        .await
        .success();
    assert!(out.stdout.ends_with(": ok\n"), "{}", out.stdout);

    // The audit log has every change, with actor and address.
    let audit = gw.cli(&admin, &["audit", "list"]).await.success().stdout;
    for action in ["user.create", "token.create", "connection.create", "policy.apply"] {
        assert!(audit.contains(action), "{action} missing from {audit}");
    }
    assert!(
        audit
            .lines()
            .any(|l| l.contains("admin") && l.contains("127.0.0.1") && l.contains("connection.create")),
        "{audit}"
    );
    let filtered = gw
        .cli(&admin, &["audit", "list", "--action", "user.create", "--json"])
        .await
        .success()
        .stdout;
    let entries: serde_json::Value = serde_json::from_str(&filtered).unwrap();
    assert!(entries
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["action"] == "user.create"));

    // Revoke alice's token; it stops working at once.
    let listing = gw
        .cli(&admin, &["token", "list", "--user", "alice", "--json"])
        .await
        .success()
        .stdout;
    let id = serde_json::from_str::<serde_json::Value>(&listing).unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    gw.cli(&admin, &["token", "revoke", &id]).await.success();
    let out = gw.cli(&alice, &["whoami"]).await.failure();
    assert!(
        out.stderr.contains("missing, invalid, expired or revoked token"),
        "{}",
        out.stderr
    );

    // Remove the connection.
    gw.cli(&admin, &["conn", "rm", "orders-db"]).await.success();
    assert!(gw
        .cli(&admin, &["conn", "list"])
        .await
        .success()
        .stdout
        .contains("no connections"));

    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn client_commands_without_a_token_fail_with_a_hint_but_never_use_the_admin_token_file() {
    let gw = Gateway::start().await;
    // Run from the directory that holds `sluice-data`-style data: point SLUICE_DATA_DIR-less default at it.
    let cwd = gw.dir.path().to_path_buf();
    std::fs::create_dir_all(cwd.join("sluice-data")).unwrap();
    std::fs::copy(
        gw.data_dir().join("admin.token"),
        cwd.join("sluice-data/admin.token"),
    )
    .unwrap();
    let out = gw.cli("", &["user", "list"]).await.failure();
    assert!(
        out.stderr
            .contains("no API token: pass --token or set SLUICE_TOKEN"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint:") && out.stderr.contains("admin.token"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_reports_an_unreachable_gateway_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}", support::free_port());
    let out = support::run_cli(dir.path(), &url, "slc_x", &["user".into(), "list".into()], None);
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("cannot reach the sluice gateway"),
        "{}",
        out.stderr
    );
}
