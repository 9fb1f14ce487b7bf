//! Unit tests: precedence, defaults, and errors that name file, line and key.

use super::*;
use std::io::Write;
use std::time::Duration;

fn write_config(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.toml");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    (dir, path)
}

fn load_file(text: &str, env: &[(&str, &str)]) -> (Result<Config, ConfigError>, PathBuf, tempfile::TempDir) {
    let (dir, path) = write_config(text);
    let overrides = Overrides {
        config_file: Some(path.clone()),
        ..Overrides::default()
    };
    let env = Environment::from_pairs(env.iter().copied());
    (Config::load_with(&overrides, &env), path, dir)
}

#[test]
fn defaults_apply_without_file_or_environment() {
    let config = Config::load_with(&Overrides::default(), &Environment::default()).unwrap();
    assert!(config.data_dir.is_absolute());
    assert!(config.data_dir.ends_with(DEFAULT_DATA_DIR));
    assert_eq!(config.api.listen, DEFAULT_API_LISTEN);
    let pg = config.listeners.postgres.as_ref().unwrap();
    assert_eq!(pg.listen, DEFAULT_POSTGRES_LISTEN);
    assert!(!pg.allow_loopback_cleartext);
    let ssh = config.listeners.ssh.as_ref().unwrap();
    assert_eq!(ssh.listen, DEFAULT_SSH_LISTEN);
    assert!(!ssh.allow_token_password);
    assert_eq!(ssh.host_key_path, None);
    assert_eq!(config.approvals.hold_timeout, Duration::from_secs(120));
    assert_eq!(config.approvals.grant_window, Duration::from_secs(3600));
    assert!(!config.approvals.admins_may_approve);
    assert!(config.approvals.access_approver_groups.is_empty());
    assert_eq!(config.approvals.access_request_ttl, Duration::from_secs(86_400));
    assert_eq!(config.approvals.public_url, None);
    assert!(config.approvals.webhooks.is_empty());
    assert_eq!(config.recording.row_cap, 1000);
    assert_eq!(config.api.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    assert_eq!(config.store.url.scheme(), "sqlite");
    assert!(config.store.url.expose().ends_with("sluice-data/state.db"));
    assert!(matches!(config.tls.source, TlsSource::Generated { .. }));
    assert!(config.tls.cert_path.starts_with(config.data_dir.join("tls")));
}

#[test]
fn file_values_are_used_and_flags_win_over_environment_which_wins_over_file() {
    let text = "data_dir = \"/srv/file\"\n[api]\nlisten = \"127.0.0.1:9000\"\nmax_body_bytes = 4096\n";
    let (result, _, _dir) = load_file(text, &[]);
    let config = result.unwrap();
    assert_eq!(config.data_dir, PathBuf::from("/srv/file"));
    assert_eq!(config.api.listen.port(), 9000);
    assert_eq!(config.api.max_body_bytes, 4096);

    let (dir, path) = write_config(text);
    let env = Environment::from_pairs([
        ("SLUICE_DATA_DIR", "/srv/env"),
        ("SLUICE_API_LISTEN", "127.0.0.1:9001"),
    ]);
    let overrides = Overrides {
        config_file: Some(path.clone()),
        ..Overrides::default()
    };
    let config = Config::load_with(&overrides, &env).unwrap();
    assert_eq!(config.data_dir, PathBuf::from("/srv/env"));
    assert_eq!(config.api.listen.port(), 9001);

    let overrides = Overrides {
        config_file: Some(path),
        data_dir: Some("/srv/flag".into()),
        api_listen: Some("127.0.0.1:9002".into()),
        ..Overrides::default()
    };
    let config = Config::load_with(&overrides, &env).unwrap();
    assert_eq!(config.data_dir, PathBuf::from("/srv/flag"));
    assert_eq!(config.api.listen.port(), 9002);
    assert_eq!(config.store.url.expose(), "sqlite:///srv/flag/state.db");
    drop(dir);
}

#[test]
fn config_file_can_be_named_by_environment_variable() {
    let (dir, path) = write_config("[api]\nlisten = \"127.0.0.1:9100\"\n");
    let env = Environment::from_pairs([("SLUICE_CONFIG", path.to_str().unwrap())]);
    let config = Config::load_with(&Overrides::default(), &env).unwrap();
    assert_eq!(config.api.listen.port(), 9100);
    drop(dir);
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let (result, path, _dir) = load_file("[api]\nlisten = \"127.0.0.1:9000\"\nlistn = \"x\"\n", &[]);
    let err = result.unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with(&format!("{}:3:1: ", path.display())), "{text}");
    assert!(text.contains("api.listn"), "{text}");
    assert!(text.contains("unknown field `listn`"), "{text}");
}

#[test]
fn unknown_section_is_refused() {
    let (result, path, _dir) = load_file("[apii]\nlisten = \"127.0.0.1:9000\"\n", &[]);
    let text = result.unwrap_err().to_string();
    assert!(text.starts_with(&format!("{}:1:", path.display())), "{text}");
    assert!(text.contains("apii"), "{text}");
}

#[test]
fn bad_address_names_line_column_and_key() {
    let (result, path, _dir) = load_file("\n[api]\nlisten = \"localhost-ish\"\n", &[]);
    let text = result.unwrap_err().to_string();
    assert!(
        text.starts_with(&format!("{}:3:10: api.listen: ", path.display())),
        "{text}"
    );
    assert!(text.contains("not a socket address"), "{text}");
}

#[test]
fn wrong_type_names_the_key_of_its_line() {
    let (result, path, _dir) = load_file("[api]\nmax_body_bytes = \"big\"\n", &[]);
    let text = result.unwrap_err().to_string();
    assert!(text.starts_with(&format!("{}:2:", path.display())), "{text}");
    assert!(text.contains("api.max_body_bytes"), "{text}");
}

#[test]
fn out_of_range_body_cap_is_refused() {
    let (result, _, _dir) = load_file("[api]\nmax_body_bytes = 10\n", &[]);
    let text = result.unwrap_err().to_string();
    assert!(
        text.contains(":2:18: api.max_body_bytes: 10 is out of range"),
        "{text}"
    );
}

#[test]
fn bad_log_level_in_file_is_refused_with_its_line() {
    let (result, path, _dir) = load_file("[logging]\nlevel = \"loud\"\n", &[]);
    let text = result.unwrap_err().to_string();
    assert!(text.starts_with(&format!("{}:2:", path.display())), "{text}");
    assert!(text.contains("logging.level"), "{text}");
}

#[test]
fn environment_errors_name_the_variable() {
    let env = Environment::from_pairs([("SLUICE_API_LISTEN", "nope")]);
    let text = Config::load_with(&Overrides::default(), &env)
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with("environment variable SLUICE_API_LISTEN: api.listen:"),
        "{text}"
    );

    let env = Environment::from_pairs([("SLUICE_STORE", "mysql://x")]);
    let text = Config::load_with(&Overrides::default(), &env)
        .unwrap_err()
        .to_string();
    assert!(text.contains("SLUICE_STORE: store.url: expected a URL"), "{text}");
}

#[test]
fn flag_errors_name_the_flag() {
    let overrides = Overrides {
        api_listen: Some("8009".into()),
        ..Overrides::default()
    };
    let text = Config::load_with(&overrides, &Environment::default())
        .unwrap_err()
        .to_string();
    assert!(text.starts_with("flag --api-listen: api.listen:"), "{text}");
}

#[test]
fn postgres_store_flag_is_accepted_and_redacted_in_debug() {
    let overrides = Overrides {
        store: Some("postgres://sluice:pw-hunter2@db/sluice".into()),
        ..Overrides::default()
    };
    let config = Config::load_with(&overrides, &Environment::default()).unwrap();
    assert_eq!(config.store.url.scheme(), "postgres");
    assert!(!format!("{config:?}").contains("hunter2"));
}

#[test]
fn master_key_from_environment_is_redacted_in_debug() {
    let env = Environment::from_pairs([("SLUICE_MASTER_KEY", "c2VjcmV0LWtleS1tYXRlcmlhbA==")]);
    let config = Config::load_with(&Overrides::default(), &env).unwrap();
    assert!(matches!(config.store.master_key, MasterKeySource::Inline(_)));
    assert!(!format!("{config:?}").contains("c2VjcmV0"));
    assert!(!format!("{env:?}").contains("c2VjcmV0"));
}

#[test]
fn tls_cert_without_key_is_refused() {
    let (result, _, _dir) = load_file("[tls]\ncert = \"/etc/cert.pem\"\n", &[]);
    let text = result.unwrap_err().to_string();
    assert!(text.contains(":2:8: tls.cert: tls.cert needs tls.key"), "{text}");
}

#[test]
fn tls_names_go_into_the_generated_certificate_settings() {
    let (result, _, _dir) = load_file("[tls]\nnames = [\"gw.example.com\", \"10.0.0.5\"]\n", &[]);
    let config = result.unwrap();
    assert_eq!(
        config.tls.source,
        TlsSource::Generated {
            names: vec!["gw.example.com".into(), "10.0.0.5".into()]
        }
    );
}

#[test]
fn postgres_listener_can_be_disabled_and_must_not_share_the_api_port() {
    let (result, _, _dir) = load_file("[listeners.postgres]\nenabled = false\n", &[]);
    assert!(result.unwrap().listeners.postgres.is_none());

    let (result, _, _dir) = load_file("[listeners.postgres]\nlisten = \"127.0.0.1:8009\"\n", &[]);
    let text = result.unwrap_err().to_string();
    assert!(text.contains(":2:10: listeners.postgres.listen:"), "{text}");
}

#[test]
fn trusted_proxies_must_be_ip_addresses() {
    let (result, _, _dir) = load_file("[api]\ntrusted_proxies = [\"127.0.0.1\", \"proxy\"]\n", &[]);
    let text = result.unwrap_err().to_string();
    assert!(
        text.contains("api.trusted_proxies: `proxy` is not an IP address"),
        "{text}"
    );
}

#[test]
fn missing_config_file_is_a_read_error_naming_the_file() {
    let overrides = Overrides {
        config_file: Some("/nonexistent/sluice.toml".into()),
        ..Overrides::default()
    };
    let text = Config::load_with(&overrides, &Environment::default())
        .unwrap_err()
        .to_string();
    assert!(text.contains("/nonexistent/sluice.toml"), "{text}");
}

#[test]
fn for_data_dir_uses_loopback_port_zero_everywhere() {
    let config = Config::for_data_dir("/tmp/sluice-test");
    assert_eq!(config.api.listen.port(), 0);
    assert!(config.api.listen.ip().is_loopback());
    let pg = config.listeners.postgres.as_ref().unwrap();
    assert_eq!(pg.listen, SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0));
    assert!(!pg.allow_loopback_cleartext);
    let ssh = config.listeners.ssh.as_ref().unwrap();
    assert_eq!(ssh.listen, SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0));
    assert!(!ssh.allow_token_password);
    assert_eq!(ssh.host_key_path, None);
    assert_eq!(config.approvals.hold_timeout, DEFAULT_HOLD_TIMEOUT);
    assert!(config.approvals.webhooks.is_empty());
    assert_eq!(config.recording.row_cap, DEFAULT_RECORDING_ROW_CAP);
    assert_eq!(
        config.admin_token_path(),
        PathBuf::from("/tmp/sluice-test/admin.token")
    );
}

#[test]
fn oidc_providers_resolve_with_defaults_mapping_and_secret_from_environment() {
    let text = r#"
[[oidc.providers]]
name = "corp"
issuer = "https://idp.example.com"
client_id = "sluice"
client_secret = "from-file"
groups_claim = "realm_access.roles"
allow_bearer = true
audience = "urn:sluice:api"
session_ttl = "8h"
[oidc.providers.groups]
"cn=dba,ou=corp" = ["dba", "prod-read"]
[oidc.providers.roles]
"sluice-admins" = "admin"

[[oidc.providers]]
name = "csv"
issuer = "http://127.0.0.1:5556"
client_id = "cli"
groups_claim = "groups_csv"
groups_separator = ","
"#;
    let (result, _, _dir) = load_file(text, &[("SLUICE_OIDC_CORP_CLIENT_SECRET", "from-env")]);
    let config = result.unwrap();
    let [corp, csv] = config.oidc.providers.as_slice() else {
        panic!("two providers expected: {:?}", config.oidc);
    };
    assert_eq!(corp.client_secret.as_ref().unwrap().expose(), "from-env");
    assert_eq!(corp.groups_claim.path, "realm_access.roles");
    assert_eq!(corp.groups["cn=dba,ou=corp"], ["dba", "prod-read"]);
    assert_eq!(corp.roles["sluice-admins"], sluice_model::Role::Admin);
    assert!(corp.allow_bearer);
    assert_eq!(corp.session_ttl, std::time::Duration::from_secs(8 * 3600));
    assert!(!format!("{corp:?}").contains("from-env"));
    assert!(csv.client_secret.is_none());
    assert_eq!(csv.groups_claim.separator, Some(','));
    assert!(!csv.allow_bearer);
    assert_eq!(csv.session_ttl, oidc::DEFAULT_SESSION_TTL);
    assert!(csv.keep_unmapped_groups);
}

#[test]
fn oidc_errors_name_line_and_key() {
    let base =
        "[[oidc.providers]]\nname = \"corp\"\nissuer = \"https://idp.example.com\"\nclient_id = \"x\"\n";
    let cases = [
        (
            "[[oidc.providers]]\nname = \"a\"\nissuer = \"http://idp.example.com\"\nclient_id = \"x\"\n",
            3,
            "oidc.providers[0].issuer",
        ),
        (
            &format!("{base}session_ttl = \"12 hours\"\n"),
            5,
            "oidc.providers[0].session_ttl",
        ),
        (
            &format!("{base}[oidc.providers.roles]\nops = \"root\"\n"),
            6,
            "oidc.providers[0].roles",
        ),
        (&format!("{base}{base}"), 6, "oidc.providers[1].name"),
        (
            &format!("{base}client_secret = \"a\"\nclient_secret_file = \"/x\"\n"),
            5,
            "oidc.providers[0].client_secret",
        ),
    ];
    for (text, line, key) in cases {
        let (result, path, _dir) = load_file(text, &[]);
        let err = result.unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}:{line}:", path.display())) && err.contains(key),
            "{text}\n=> {err}"
        );
    }
    let (result, _, _dir) = load_file(&format!("{base}clientid = \"y\"\n"), &[]);
    assert!(result.unwrap_err().to_string().contains("clientid"));
}

/// A PEM certificate block (start-up checks the PEM shape; whether it is a usable CA is checked when the fetcher is
/// built).
const SOME_CERT_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBVzCB/qADAgECAhQb3zEXAMPLE0000000000000000000MAoGCCqGSM49BAMCMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDAe
-----END CERTIFICATE-----
";

#[test]
fn oidc_ca_file_is_read_at_start_and_errors_name_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("corp-ca.pem");
    std::fs::write(&good, SOME_CERT_PEM).unwrap();
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "this is not a certificate\n").unwrap();
    let key_only = dir.path().join("key.pem");
    std::fs::write(
        &key_only,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let missing = dir.path().join("missing.pem");
    let provider = |issuer: &str, ca: &std::path::Path| {
        format!(
            "[[oidc.providers]]\nname = \"corp\"\nissuer = \"{issuer}\"\nclient_id = \"x\"\nca_file = \"{}\"\n",
            ca.display()
        )
    };
    let (result, _, _dir) = load_file(&provider("https://idp.corp", &good), &[]);
    let config = result.unwrap();
    let ca = config.oidc.providers[0].ca.as_ref().unwrap();
    assert_eq!(ca.path, good);
    assert_eq!(ca.certs.len(), 1);

    let cases = [
        (provider("https://idp.corp", &missing), "cannot read"),
        (provider("https://idp.corp", &not_pem), "holds no PEM certificate"),
        (
            provider("https://idp.corp", &key_only),
            "holds no PEM certificate",
        ),
        (provider("http://127.0.0.1:9", &good), "only an https:// issuer"),
    ];
    for (text, expected) in cases {
        let (result, path, _dir) = load_file(&text, &[]);
        let err = result.unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}:5:", path.display()))
                && err.contains("oidc.providers[0].ca_file")
                && err.contains(expected),
            "{text}\n=> {err}"
        );
    }
}

#[test]
fn listener_keys_are_parsed() {
    let text = r#"
[listeners.postgres]
listen = "127.0.0.1:25432"
allow_loopback_cleartext = true
[listeners.ssh]
listen = "0.0.0.0:2222"
allow_token_password = true
host_key = "/etc/sluice/ssh_host_ed25519_key"
"#;
    let (result, _, _dir) = load_file(text, &[]);
    let config = result.unwrap();
    let pg = config.listeners.postgres.unwrap();
    assert_eq!(pg.listen.port(), 25432);
    assert!(pg.allow_loopback_cleartext);
    let ssh = config.listeners.ssh.unwrap();
    assert_eq!(ssh.listen, "0.0.0.0:2222".parse::<SocketAddr>().unwrap());
    assert!(ssh.allow_token_password);
    assert_eq!(
        ssh.host_key_path,
        Some(PathBuf::from("/etc/sluice/ssh_host_ed25519_key"))
    );

    let (result, _, _dir) = load_file("[listeners.ssh]\nenabled = false\n", &[]);
    let config = result.unwrap();
    assert!(config.listeners.ssh.is_none());
    assert!(config.listeners.postgres.is_some());

    let (result, _, _dir) = load_file("[listeners.ssh]\nhost_key = \"keys/host\"\n", &[]);
    let path = result.unwrap().listeners.ssh.unwrap().host_key_path.unwrap();
    assert!(path.is_absolute() && path.ends_with("keys/host"), "{path:?}");
}

#[test]
fn listener_environment_overrides_win_over_the_file() {
    let text = "[listeners.postgres]\nallow_loopback_cleartext = false\n[listeners.ssh]\nlisten = \"127.0.0.1:2222\"\nenabled = true\n";
    let (result, _, _dir) = load_file(
        text,
        &[
            ("SLUICE_SSH_LISTEN", "127.0.0.1:3333"),
            ("SLUICE_POSTGRES_ALLOW_LOOPBACK_CLEARTEXT", "true"),
        ],
    );
    let config = result.unwrap();
    assert_eq!(config.listeners.ssh.unwrap().listen.port(), 3333);
    assert!(config.listeners.postgres.unwrap().allow_loopback_cleartext);

    let (result, _, _dir) = load_file(text, &[("SLUICE_SSH_ENABLED", "false")]);
    assert!(result.unwrap().listeners.ssh.is_none());

    let env = Environment::from_pairs([("SLUICE_SSH_ENABLED", "0"), ("SLUICE_POSTGRES_ENABLED", "no")]);
    let config = Config::load_with(&Overrides::default(), &env).unwrap();
    assert!(config.listeners.ssh.is_none() && config.listeners.postgres.is_none());

    let env = Environment::from_pairs([("SLUICE_SSH_ENABLED", "maybe")]);
    let text = Config::load_with(&Overrides::default(), &env)
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with("environment variable SLUICE_SSH_ENABLED: listeners.ssh.enabled:"),
        "{text}"
    );

    let env = Environment::from_pairs([("SLUICE_SSH_LISTEN", "12222")]);
    let text = Config::load_with(&Overrides::default(), &env)
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with("environment variable SLUICE_SSH_LISTEN: listeners.ssh.listen:"),
        "{text}"
    );

    let env = Environment::from_pairs([("SLUICE_POSTGRES_ALLOW_LOOPBACK_CLEARTEXT", "yes please")]);
    let text = Config::load_with(&Overrides::default(), &env)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains(
            "SLUICE_POSTGRES_ALLOW_LOOPBACK_CLEARTEXT: listeners.postgres.allow_loopback_cleartext:"
        ),
        "{text}"
    );
}

#[test]
fn session_threads_come_from_the_file_or_the_environment_and_are_bounded() {
    let (result, _, _dir) = load_file("", &[]);
    assert_eq!(result.unwrap().listeners.session_threads, None);
    let (result, _, _dir) = load_file("[listeners]\nsession_threads = 3\n", &[]);
    assert_eq!(
        result.unwrap().listeners.session_threads.map(usize::from),
        Some(3)
    );
    let (result, _, _dir) = load_file(
        "[listeners]\nsession_threads = 3\n",
        &[("SLUICE_SESSION_THREADS", "5")],
    );
    assert_eq!(
        result.unwrap().listeners.session_threads.map(usize::from),
        Some(5)
    );

    for bad in ["0", "-1", "1025"] {
        let (result, path, _dir) = load_file(&format!("\n[listeners]\nsession_threads = {bad}\n"), &[]);
        let text = result.unwrap_err().to_string();
        assert!(
            text.starts_with(&format!("{}:3:", path.display()))
                && text.contains("listeners.session_threads: ")
                && text.contains("from 1 to 1024"),
            "{bad} => {text}"
        );
    }
    for bad in ["0", "many", "2000"] {
        let env = Environment::from_pairs([("SLUICE_SESSION_THREADS", bad)]);
        let text = Config::load_with(&Overrides::default(), &env)
            .unwrap_err()
            .to_string();
        assert!(
            text.starts_with("environment variable SLUICE_SESSION_THREADS: listeners.session_threads:")
                && text.contains(&format!("`{bad}` is out of range")),
            "{bad} => {text}"
        );
    }
}

#[test]
fn ssh_listener_must_not_share_a_port() {
    let (result, path, _dir) = load_file("[listeners.ssh]\nlisten = \"127.0.0.1:15432\"\n", &[]);
    let text = result.unwrap_err().to_string();
    assert!(
        text.starts_with(&format!("{}:2:10: listeners.ssh.listen:", path.display())),
        "{text}"
    );
    assert!(text.contains("PostgreSQL"), "{text}");

    let env = Environment::from_pairs([("SLUICE_SSH_LISTEN", "127.0.0.1:8009")]);
    let text = Config::load_with(&Overrides::default(), &env)
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with("environment variable SLUICE_SSH_LISTEN: listeners.ssh.listen:"),
        "{text}"
    );

    // Sharing is fine when the other listener is off.
    let (result, _, _dir) = load_file(
        "[listeners.postgres]\nenabled = false\n[listeners.ssh]\nlisten = \"127.0.0.1:15432\"\n",
        &[],
    );
    assert_eq!(result.unwrap().listeners.ssh.unwrap().listen.port(), 15432);
}

#[test]
fn listener_unknown_keys_are_refused() {
    let (result, path, _dir) = load_file("[listeners.ssh]\nhost_key_file = \"/x\"\n", &[]);
    let text = result.unwrap_err().to_string();
    assert!(text.starts_with(&format!("{}:2:", path.display())), "{text}");
    assert!(text.contains("host_key_file"), "{text}");
}

#[test]
fn approvals_and_recording_keys_are_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let secret_path = dir.path().join("webhook.secret");
    std::fs::write(&secret_path, "file-secret-123\n").unwrap();
    let text = format!(
        r#"
[approvals]
hold_timeout = "90s"
grant_window = "2h"
admins_may_approve = true
access_approver_groups = ["dba", "sre"]
access_request_ttl = "1d12h"
public_url = "https://sluice.example.com/"

[[approvals.webhooks]]
name = "ops"
url = "https://hooks.example.com/sluice"
secret_file = "{}"
format = "json"
events = ["review.created", "review.decided"]

[[approvals.webhooks]]
name = "team-slack"
url = "https://hooks.slack.com/services/T0/B0/slackpathtoken"
secret = "inline-secret-456"
format = "slack"
scope = "policy"

[recording]
row_cap = 250
sync = "2s"
"#,
        secret_path.display()
    );
    let (result, _, _dir) = load_file(&text, &[]);
    let config = result.unwrap();
    let a = &config.approvals;
    assert_eq!(a.hold_timeout, Duration::from_secs(90));
    assert_eq!(a.grant_window, Duration::from_secs(7200));
    assert!(a.admins_may_approve);
    assert_eq!(a.access_approver_groups, ["dba", "sre"]);
    assert_eq!(a.access_request_ttl, Duration::from_secs(36 * 3600));
    assert_eq!(a.public_url.as_deref(), Some("https://sluice.example.com"));
    let [ops, slack] = a.webhooks.as_slice() else {
        panic!("two webhooks expected: {:?}", a.webhooks);
    };
    assert_eq!(ops.name, "ops");
    assert_eq!(ops.url, "https://hooks.example.com/sluice");
    assert_eq!(ops.secret.expose(), "file-secret-123");
    assert_eq!(ops.format, WebhookFormat::Json);
    assert_eq!(ops.events, ["review.created", "review.decided"]);
    assert_eq!(slack.name, "team-slack");
    assert_eq!(slack.secret.expose(), "inline-secret-456");
    assert_eq!(slack.format, WebhookFormat::Slack);
    assert!(slack.events.is_empty());
    assert_eq!(ops.scope, WebhookScope::Global, "the default scope");
    assert_eq!(slack.scope, WebhookScope::Policy);
    assert_eq!(config.recording.row_cap, 250);
    assert_eq!(
        config.recording.sync_interval,
        Some(std::time::Duration::from_secs(2))
    );

    // The environment wins over the file, and the variable is named after the webhook.
    let (result, _, _dir) = load_file(&text, &[("SLUICE_WEBHOOK_TEAM_SLACK_SECRET", "env-secret-789")]);
    let config = result.unwrap();
    assert_eq!(config.approvals.webhooks[1].secret.expose(), "env-secret-789");
    assert_eq!(config.approvals.webhooks[0].secret.expose(), "file-secret-123");
}

#[test]
fn webhook_secret_may_come_from_the_environment_alone() {
    let text = "[[approvals.webhooks]]\nname = \"ops\"\nurl = \"http://127.0.0.1:9000/hook\"\n";
    let (result, _, _dir) = load_file(text, &[("SLUICE_WEBHOOK_OPS_SECRET", "s3cr3t-env")]);
    let config = result.unwrap();
    assert_eq!(config.approvals.webhooks[0].secret.expose(), "s3cr3t-env");
    assert_eq!(config.approvals.webhooks[0].format, WebhookFormat::Json);
}

#[test]
fn webhook_debug_hides_the_secret_and_the_url_credentials() {
    let text = r#"
[[approvals.webhooks]]
name = "ops"
url = "https://user:pa55word@hooks.example.com/services/pathtoken?sig=querytoken"
secret = "never-show-this-secret"
"#;
    let (result, _, _dir) = load_file(text, &[]);
    let config = result.unwrap();
    let hook = &config.approvals.webhooks[0];
    assert_eq!(hook.secret.expose(), "never-show-this-secret");
    for shown in [format!("{hook:?}"), format!("{config:?}"), format!("{hook:#?}")] {
        for hidden in [
            "never-show-this-secret",
            "pa55word",
            "user:",
            "pathtoken",
            "querytoken",
        ] {
            assert!(!shown.contains(hidden), "{hidden} leaked: {shown}");
        }
        assert!(shown.contains("hooks.example.com"), "{shown}");
        assert!(shown.contains("ops"), "{shown}");
    }
}

#[test]
fn approvals_errors_name_file_line_and_key() {
    let hook =
        "[[approvals.webhooks]]\nname = \"ops\"\nurl = \"https://hooks.example.com\"\nsecret = \"s\"\n";
    let cases: Vec<(String, usize, &str, &str)> = vec![
        (
            "[approvals]\nhold_timeout = \"2 minutes\"\n".into(),
            2,
            "approvals.hold_timeout",
            "is not a duration",
        ),
        (
            "[approvals]\n\ngrant_window = \"1w\"\n".into(),
            3,
            "approvals.grant_window",
            "is not a duration",
        ),
        (
            "[approvals]\naccess_request_ttl = \"0h\"\n".into(),
            2,
            "approvals.access_request_ttl",
            "is not a duration",
        ),
        (
            "[approvals]\nhold_timeout = \"2h\"\n".into(),
            2,
            "approvals.hold_timeout",
            "at most 1h",
        ),
        (
            "[approvals]\npublic_url = \"sluice.example.com\"\n".into(),
            2,
            "approvals.public_url",
            "expected an http",
        ),
        (
            "[approvals]\naccess_approver_groups = [\"dba\", \"dba\"]\n".into(),
            2,
            "approvals.access_approver_groups",
            "listed twice",
        ),
        (
            format!("{hook}events = [\"review.created\", \"review.exploded\"]\n"),
            5,
            "approvals.webhooks[0].events",
            "`review.exploded` is not an event",
        ),
        (
            "[[approvals.webhooks]]\nname = \"ops\"\nurl = \"https://hooks.example.com\"\n".into(),
            2,
            "approvals.webhooks[0].secret",
            "SLUICE_WEBHOOK_OPS_SECRET",
        ),
        (
            format!("{hook}{hook}"),
            6,
            "approvals.webhooks[1].name",
            "`ops` is configured twice",
        ),
        (
            "[[approvals.webhooks]]\nname = \"ops\"\nurl = \"ftp://hooks.example.com/x\"\nsecret = \"s\"\n".into(),
            3,
            "approvals.webhooks[0].url",
            "expected an http:// or https:// URL",
        ),
        (
            "[[approvals.webhooks]]\nname = \"ops hook\"\nurl = \"https://h.example.com\"\nsecret = \"s\"\n".into(),
            2,
            "approvals.webhooks[0].name",
            "letters, digits",
        ),
        (
            format!("{hook}format = \"xml\"\n"),
            5,
            "approvals.webhooks[0].format",
            "expected json or slack",
        ),
        (
            format!("{hook}scope = \"team\"\n"),
            5,
            "approvals.webhooks[0].scope",
            "expected global (every event) or policy",
        ),
        (
            format!("{hook}secret_file = \"/x\"\n"),
            4,
            "approvals.webhooks[0].secret",
            "not both",
        ),
        (
            "[[approvals.webhooks]]\nname = \"ops\"\nurl = \"https://h.example.com\"\nsecret_file = \"/nonexistent/sluice.secret\"\n".into(),
            4,
            "approvals.webhooks[0].secret_file",
            "cannot read /nonexistent/sluice.secret",
        ),
        (
            "[recording]\nrow_cap = 0\n".into(),
            2,
            "recording.row_cap",
            "out of range",
        ),
        (
            "[recording]\nrow_cap = -5\n".into(),
            2,
            "recording.row_cap",
            "out of range",
        ),
    ];
    for (text, line, key, message) in cases {
        let (result, path, _dir) = load_file(&text, &[]);
        let err = result.unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}:{line}:", path.display()))
                && err.contains(&format!("{key}: "))
                && err.contains(message),
            "{text}\n=> {err}"
        );
    }
}

#[test]
fn bad_webhook_url_is_not_echoed_in_the_error() {
    let text = "[[approvals.webhooks]]\nname = \"ops\"\nurl = \"hooks.slack.com/services/T0/B0/tokentoken\"\nsecret = \"s\"\n";
    let (result, _, _dir) = load_file(text, &[]);
    let err = result.unwrap_err().to_string();
    assert!(err.contains("approvals.webhooks[0].url"), "{err}");
    assert!(!err.contains("tokentoken"), "{err}");
}

#[test]
fn approvals_unknown_keys_are_refused() {
    let (result, path, _dir) = load_file("[approvals]\nhold = \"2m\"\n", &[]);
    let text = result.unwrap_err().to_string();
    assert!(text.starts_with(&format!("{}:2:", path.display())), "{text}");
    assert!(text.contains("hold"), "{text}");

    let text = "[[approvals.webhooks]]\nname = \"ops\"\nurl = \"https://h.example.com\"\nsecret = \"s\"\nretries = 3\n";
    let (result, path, _dir) = load_file(text, &[]);
    let text = result.unwrap_err().to_string();
    assert!(text.starts_with(&format!("{}:5:", path.display())), "{text}");
    assert!(text.contains("retries"), "{text}");

    let (result, _, _dir) = load_file("[recording]\nrows = 5\n", &[]);
    assert!(result.unwrap_err().to_string().contains("rows"));
}
