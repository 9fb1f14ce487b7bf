//! Unit tests: precedence, defaults, and errors that name file, line and key.

use super::*;
use std::io::Write;
use std::time::Duration;

mod approvals;
mod listeners;
mod providers;

pub(super) fn write_config(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.toml");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    (dir, path)
}

pub(super) fn load_file(
    text: &str,
    env: &[(&str, &str)],
) -> (Result<Config, ConfigError>, PathBuf, tempfile::TempDir) {
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
