//! Listeners: keys, environment overrides, session threads, shared ports.

use super::*;

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

    let text = env_error("SLUICE_SSH_ENABLED", "maybe");
    assert!(
        text.starts_with("environment variable SLUICE_SSH_ENABLED: listeners.ssh.enabled:"),
        "{text}"
    );

    let text = env_error("SLUICE_SSH_LISTEN", "12222");
    assert!(
        text.starts_with("environment variable SLUICE_SSH_LISTEN: listeners.ssh.listen:"),
        "{text}"
    );

    let text = env_error("SLUICE_POSTGRES_ALLOW_LOOPBACK_CLEARTEXT", "yes please");
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

    let text = env_error("SLUICE_SSH_LISTEN", "127.0.0.1:8009");
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

/// The error loading the configuration with the one environment variable `name` set to `value`.
fn env_error(name: &str, value: &str) -> String {
    let env = Environment::from_pairs([(name, value)]);
    Config::load_with(&Overrides::default(), &env)
        .unwrap_err()
        .to_string()
}
