//! Start-up of the real `sluice gateway` process: the one-time admin token, refusals that protect sealed data, and
//! configuration and data-directory errors that say exactly what is wrong.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use sluice_config::{Config, MasterKeySource};
use sluice_model::Secret;
use sluice_store::seal::MasterKey;
use support::{gateway_refuses, http, Gateway, GatewayProcess};

#[test]
fn admin_token_is_printed_on_the_first_start_only() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let first = GatewayProcess::spawn(work.path(), &data, &[], "first");
    let (stdout, stderr) = first.stop();
    let saved = std::fs::read_to_string(data.join("admin.token")).unwrap();
    let token = saved.trim();
    assert!(token.starts_with("slc_"));
    assert_eq!(stdout.matches(token).count(), 1, "{stdout}");
    assert!(stdout.contains("export SLUICE_TOKEN=$(cat "), "{stdout}");
    assert!(!stderr.contains(token), "the token must not be logged");
    // Where clients connect: the listeners' real (here: random) ports, and they accept connections.
    for (prefix, after) in [
        ("PostgreSQL clients: host=127.0.0.1 port=", ' '),
        ("SSH clients: ssh -p ", ' '),
    ] {
        let at = stdout
            .find(prefix)
            .unwrap_or_else(|| panic!("{prefix} missing: {stdout}"));
        let port: u16 = stdout[at + prefix.len()..]
            .split(after)
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_ne!(port, 0, "{stdout}");
    }

    let second = GatewayProcess::spawn(work.path(), &data, &[], "second");
    let (status, me) = http("GET", &format!("{}/api/v1/me", second.url), Some(token), None);
    assert_eq!((status, me["name"].as_str()), (200, Some("admin")));
    let (stdout, stderr) = second.stop();
    assert!(
        !stdout.contains("slc_") && !stderr.contains("slc_"),
        "second start printed a token: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_different_master_key_over_existing_sealed_data_refuses_to_start() {
    let gw = Gateway::start().await;
    let body = r#"{"name":"db","type":"postgres","host":"127.0.0.1","password":"pw"}"#;
    let (status, _) = gw
        .http("POST", "/api/v1/connections", Some(&gw.admin_token), Some(body))
        .await;
    assert_eq!(status, 201);
    let data_dir = gw.data_dir();
    let key_file = data_dir.join("master.key");
    let original_key = std::fs::read(&key_file).unwrap();
    let Gateway { running, dir, .. } = gw;
    running.shutdown().await;

    let mut config = Config::for_data_dir(&data_dir);
    let other = MasterKey::generate().unwrap().to_base64();
    config.store.master_key = MasterKeySource::Inline(Secret::new(other.expose().clone()));
    let err = sluice::gateway::start(config).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("master key does not match"),
        "{err:#}"
    );

    // A missing key file is not replaced by a new one.
    std::fs::remove_file(&key_file).unwrap();
    let err = sluice::gateway::start(Config::for_data_dir(&data_dir))
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("master key file") && format!("{err:#}").contains("missing"),
        "{err:#}"
    );
    assert!(
        !key_file.exists(),
        "a new key must not be created over existing data"
    );

    // With the original key back, it starts and the first-start token is not issued again.
    std::fs::write(&key_file, original_key).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let running = sluice::gateway::start(Config::for_data_dir(&data_dir))
        .await
        .unwrap();
    assert!(running.admin_token.is_none());
    running.shutdown().await;
    drop(dir);
}

#[test]
fn the_real_binary_refuses_a_wrong_master_key_from_the_environment() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    GatewayProcess::spawn(work.path(), &data, &[], "first").stop();
    let other = MasterKey::generate().unwrap().to_base64();
    let stderr = gateway_refuses(
        work.path(),
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "--api-listen",
            "127.0.0.1:0",
        ],
        &[("SLUICE_MASTER_KEY", other.expose())],
    );
    assert!(
        stderr.contains("error: refusing to start") && stderr.contains("master key does not match"),
        "{stderr}"
    );
    assert!(!stderr.contains(other.expose().as_str()));
}

#[test]
fn a_bad_config_file_names_file_line_and_key() {
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("sluice.toml");
    std::fs::write(&file, "[api]\nlisten = \"127.0.0.1:0\"\nlistn = \"oops\"\n").unwrap();
    let stderr = gateway_refuses(work.path(), &["--config", file.to_str().unwrap()], &[]);
    assert!(
        stderr.contains(&format!(
            "{}:3:1: api.listn: unknown field `listn`",
            file.display()
        )),
        "{stderr}"
    );

    std::fs::write(&file, "data_dir = \"d\"\n[logging]\nlevel = \"chatty\"\n").unwrap();
    let stderr = gateway_refuses(work.path(), &[], &[("SLUICE_CONFIG", file.to_str().unwrap())]);
    assert!(
        stderr.contains(&format!("{}:3:", file.display())) && stderr.contains("logging.level"),
        "{stderr}"
    );

    let stderr = gateway_refuses(work.path(), &["--api-listen", "localhost"], &[]);
    assert!(stderr.contains("flag --api-listen: api.listen:"), "{stderr}");
    assert!(
        !work.path().join("sluice-data").exists(),
        "nothing is created when the configuration is refused"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_dir_in_use_or_without_parent_is_a_precise_error() {
    let gw = Gateway::start().await;
    let err = sluice::gateway::start(Config::for_data_dir(gw.data_dir()))
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("in use by another sluice gateway"),
        "{err:#}"
    );
    let err = sluice::gateway::start(Config::for_data_dir(gw.dir.path().join("no/such/dir")))
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("does not exist and neither does its parent"),
        "{err:#}"
    );
    let file = gw.dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let err = sluice::gateway::start(Config::for_data_dir(&file))
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("is not a directory"), "{err:#}");
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_and_openapi_are_reachable_without_a_token() {
    let gw = Gateway::start().await;
    let (status, health) = gw.http("GET", "/healthz", None, None).await;
    assert_eq!(
        (status, health["status"].as_str(), health["store"].as_str()),
        (200, Some("ok"), Some("sqlite"))
    );
    let (status, doc) = gw.http("GET", "/api/openapi.json", None, None).await;
    assert_eq!((status, doc["openapi"].as_str()), (200, Some("3.1.0")));
    assert!(doc["paths"]["/api/v1/connections"]["post"].is_object());
    // TLS material was generated on first start, key readable by the owner only.
    use std::os::unix::fs::PermissionsExt as _;
    let key = gw.data_dir().join("tls/key.pem");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let cert = std::fs::read_to_string(gw.data_dir().join("tls/cert.pem")).unwrap();
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_can_be_served_over_tls_with_the_generated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(dir.path().join("data"));
    config.api.tls = true;
    let running = sluice::gateway::start(config).await.unwrap();
    assert!(running.api_url.starts_with("https://"));
    let addr = running.api_addr;
    let cert = dir.path().join("data/tls/cert.pem");
    // A client that trusts only the generated certificate, and checks it is valid for 127.0.0.1.
    use rustls::pki_types::pem::PemObject as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut roots = rustls::RootCertStore::empty();
    for der in rustls::pki_types::CertificateDer::pem_file_iter(&cert).unwrap() {
        roots.add(der.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = connector
        .connect(name, tcp)
        .await
        .expect("certificate verifies for 127.0.0.1");
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tls.read_to_string(&mut response).await.unwrap();
    assert!(
        response.starts_with("HTTP/1.1 200") && response.contains("\"status\":\"ok\""),
        "{response}"
    );
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_start_that_cannot_bind_its_port_keeps_the_admin_token_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = Config::for_data_dir(dir.path().join("data"));
    config.api.listen = taken.local_addr().unwrap();
    let err = sluice::gateway::start(config).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("cannot listen on") && format!("{err:#}").contains("api.listen"),
        "{err:#}"
    );
    let running = sluice::gateway::start(Config::for_data_dir(dir.path().join("data")))
        .await
        .unwrap();
    assert!(
        running.admin_token.is_some(),
        "the one-time token is shown on the first start that succeeds"
    );
    running.shutdown().await;
}
