//! A connection password never leaves the gateway: not in API responses, CLI output, logs, or the state files.

mod support;

use support::{http, run_cli, GatewayProcess};

const PASSWORD: &str = "Tr0ub4dor-and-3-horses-9f8e7d";
const KEY_TEXT: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAc2VjcmV0LWtleS1ib2R5LTQyNDI=\n-----END OPENSSH PRIVATE KEY-----\n";
const KEY_MARKER: &str = "c2VjcmV0LWtleS1ib2R5LTQyNDI";

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn connection_credentials_never_appear_in_responses_output_logs_or_state_files() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let gw = GatewayProcess::spawn(work.path(), &data, &[("SLUICE_LOG", "trace")], "gw");
    let token = std::fs::read_to_string(data.join("admin.token"))
        .unwrap()
        .trim()
        .to_owned();
    let cli = |args: &[&str], stdin: Option<&str>| {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        run_cli(work.path(), &gw.url, &token, &args, stdin)
    };
    let mut seen = String::new();

    let out = cli(
        &[
            "conn",
            "add",
            "pg",
            "--type",
            "postgres",
            "--host",
            "127.0.0.1",
            "--user",
            "app",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(out.status.success(), "{}", out.stderr);
    seen.push_str(&out.stdout);
    seen.push_str(&out.stderr);
    let key_file = work.path().join("id_test");
    std::fs::write(&key_file, KEY_TEXT).unwrap();
    let out = cli(
        &[
            "conn",
            "add",
            "box",
            "--type",
            "ssh",
            "--host",
            "127.0.0.1",
            "--user",
            "ops",
            "--key-file",
            key_file.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", out.stderr);
    seen.push_str(&out.stdout);

    let body = serde_json::json!({"name": "raw", "type": "mysql", "host": "127.0.0.1", "password": PASSWORD})
        .to_string();
    let (status, created) = http(
        "POST",
        &format!("{}/api/v1/connections", gw.url),
        Some(&token),
        Some(&body),
    );
    assert_eq!(status, 201);
    assert_eq!(created["credential"], "password");
    seen.push_str(&created.to_string());
    // A failed create (duplicate) must not echo the password either.
    let (status, dup) = http(
        "POST",
        &format!("{}/api/v1/connections", gw.url),
        Some(&token),
        Some(&body),
    );
    assert_eq!(status, 409);
    seen.push_str(&dup.to_string());

    for args in [
        &["conn", "list"][..],
        &["conn", "list", "--json"],
        &["conn", "show", "pg"],
        &["conn", "show", "pg", "--json"],
        &["conn", "show", "box"],
        &["audit", "list", "--json"],
    ] {
        let out = cli(args, None);
        assert!(out.status.success(), "{args:?}: {}", out.stderr);
        seen.push_str(&out.stdout);
    }
    assert!(
        seen.contains("password:  set") && seen.contains("private key: set"),
        "{seen}"
    );
    assert!(!seen.contains(PASSWORD), "password leaked into API or CLI output");
    assert!(
        !seen.contains(KEY_MARKER),
        "private key leaked into API or CLI output"
    );

    let (stdout, stderr) = gw.stop();
    assert!(
        stderr.contains("REST API listening"),
        "trace logging was on: {stderr}"
    );
    for (what, text) in [("stdout", &stdout), ("log", &stderr)] {
        assert!(
            !text.contains(PASSWORD) && !text.contains(KEY_MARKER),
            "credential found in gateway {what}"
        );
    }
    let mut files = 0;
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !contains(&bytes, PASSWORD) && !contains(&bytes, KEY_MARKER),
                "credential found in {}",
                path.display()
            );
            files += 1;
        }
    }
    assert!(
        data.join("state.db").is_file() && files >= 3,
        "the state files were inspected"
    );
}
