//! The CLI against a gateway that serves the API over HTTPS (`[api] tls = true`): the real `sluice` binary trusts
//! the gateway's generated certificate given with `--ca-cert`, `SLUICE_CA_CERT` or found next to the local data
//! directory; without it, or with a certificate for another name, it refuses and says why; `sluice login` (OpenID,
//! a real provider) works against the HTTPS API; an http:// URL keeps working without any of this.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod oidc_support;

use serde_json::Value;
use sluice::gateway::{self, RunningGateway};
use sluice_config::{Config, TlsConfig, TlsSource};
use sluice_testbed::oidc::{ClientKind, OidcProvider, OidcSetup};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A gateway in this process serving the API over HTTPS, its admin token and its temp directory (the data directory
/// is `DIR/sluice-data`, the gateway's default name, so the CLI run in DIR finds the certificate by itself).
struct HttpsGateway {
    running: RunningGateway,
    admin_token: String,
    dir: tempfile::TempDir,
}

impl HttpsGateway {
    async fn start(adjust: impl FnOnce(&mut Config, &Path)) -> HttpsGateway {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_data_dir(dir.path().join("sluice-data"));
        config.api.tls = true;
        adjust(&mut config, dir.path());
        let running = gateway::start(config).await.expect("gateway starts");
        let admin_token = running.admin_token.as_ref().unwrap().expose().clone();
        assert!(
            running.api_url.starts_with("https://127.0.0.1:"),
            "{}",
            running.api_url
        );
        HttpsGateway {
            running,
            admin_token,
            dir,
        }
    }

    fn url(&self) -> String {
        self.running.api_url.clone()
    }

    fn cert(&self) -> PathBuf {
        self.running.data_dir.join("tls").join("cert.pem")
    }

    /// An empty directory to run the CLI in, away from the data directory.
    fn elsewhere(&self) -> PathBuf {
        let dir = self.dir.path().join("elsewhere");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

/// What a CLI run printed.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    fn success(self) -> Run {
        assert!(self.ok, "sluice failed: {}\n{}", self.stdout, self.stderr);
        self
    }

    fn failure(self) -> Run {
        assert!(!self.ok, "sluice should have failed: {}", self.stdout);
        self
    }
}

/// Runs the real `sluice` in `cwd` with only `env` set (no HOME: no saved session can interfere).
fn sluice(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    tokio::task::block_in_place(|| {
        let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Run {
            ok: output.status.success(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    })
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_speaks_https_with_the_gateway_certificate_from_flag_env_or_data_dir() {
    let gw = HttpsGateway::start(|_, _| {}).await;
    let url = gw.url();
    let cert = gw.cert();
    let elsewhere = gw.elsewhere();
    let admin = [
        ("SLUICE_URL", url.as_str()),
        ("SLUICE_TOKEN", gw.admin_token.as_str()),
    ];

    // --ca-cert: the admin creates a user and a token for them.
    let ca_flag = ["--ca-cert", path_str(&cert)];
    fn with_flag<'a>(flag: &[&'a str], args: &[&'a str]) -> Vec<&'a str> {
        [flag, args].concat()
    }
    sluice(
        &elsewhere,
        &admin,
        &with_flag(&ca_flag, &["user", "add", "bob", "--group", "dev"]),
    )
    .success();
    let listed = sluice(
        &elsewhere,
        &admin,
        &with_flag(&ca_flag, &["user", "list", "--json"]),
    )
    .success();
    let users: Value = serde_json::from_str(&listed.stdout).unwrap();
    let mut names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["admin", "bob"]);
    let who = sluice(&elsewhere, &admin, &with_flag(&ca_flag, &["whoami"])).success();
    assert!(who.stdout.contains("name:     admin"), "{}", who.stdout);
    let created = sluice(
        &elsewhere,
        &admin,
        &with_flag(&ca_flag, &["token", "create", "--user", "bob", "--ttl", "1h"]),
    )
    .success();
    let bob_token = created.stdout.trim().to_owned();
    assert!(bob_token.starts_with("slc_"), "{}", created.stdout);

    // SLUICE_CA_CERT: bob uses his new token.
    let cert_env = path_str(&cert);
    let bob = [
        ("SLUICE_URL", url.as_str()),
        ("SLUICE_TOKEN", bob_token.as_str()),
        ("SLUICE_CA_CERT", cert_env),
    ];
    let who = sluice(&elsewhere, &bob, &["whoami"]).success();
    assert!(who.stdout.contains("name:     bob"), "{}", who.stdout);
    assert!(who.stdout.contains("groups:   dev"), "{}", who.stdout);
    let tokens = sluice(&elsewhere, &bob, &["token", "create", "--ttl", "10m", "--json"]).success();
    let token: Value = serde_json::from_str(&tokens.stdout).unwrap();
    assert!(token["token"].as_str().unwrap().starts_with("slc_"), "{token}");

    // Next to the local data directory (./sluice-data, or SLUICE_DATA_DIR), the generated certificate is trusted
    // without being named.
    let local = sluice(gw.dir.path(), &admin, &["user", "list"]).success();
    assert!(local.stdout.contains("bob"), "{}", local.stdout);
    let data_dir = path_str(&gw.running.data_dir);
    let via_env = [admin[0], admin[1], ("SLUICE_DATA_DIR", data_dir)];
    let who = sluice(&elsewhere, &via_env, &["whoami"]).success();
    assert!(who.stdout.contains("name:     admin"), "{}", who.stdout);

    // Without the certificate: refused, saying what failed and what to do, and not leaking the token.
    let refused = sluice(&elsewhere, &admin, &["user", "list"]).failure();
    assert!(
        refused.stderr.contains("could not be verified") && refused.stderr.contains("--ca-cert"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains(&gw.admin_token));
    let refused = sluice(&elsewhere, &bob[..2], &["whoami"]).failure();
    assert!(
        refused.stderr.contains("could not be verified"),
        "{}",
        refused.stderr
    );

    // An explicit CA file that does not exist is an error, not a silent fallback.
    let missing = elsewhere.join("missing.pem");
    let refused = sluice(
        &elsewhere,
        &admin,
        &["--ca-cert", path_str(&missing), "user", "list"],
    )
    .failure();
    assert!(
        refused
            .stderr
            .contains("cannot read the gateway's CA certificate"),
        "{}",
        refused.stderr
    );

    // A plain http:// URL at the HTTPS port says to use https://.
    let plain_url = url.replacen("https://", "http://", 1);
    let plain = [("SLUICE_URL", plain_url.as_str()), admin[1]];
    let refused = sluice(&elsewhere, &plain, &["user", "list"]).failure();
    assert!(refused.stderr.contains("https://"), "{}", refused.stderr);
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_certificate_for_another_name_is_refused() {
    let gw = HttpsGateway::start(|config, dir| {
        let other = rcgen::generate_simple_self_signed(vec!["other.example".to_owned()]).unwrap();
        let (cert_path, key_path) = (dir.join("other-cert.pem"), dir.join("other-key.pem"));
        std::fs::write(&cert_path, other.cert.pem()).unwrap();
        std::fs::write(&key_path, other.signing_key.serialize_pem()).unwrap();
        config.tls = TlsConfig {
            cert_path,
            key_path,
            source: TlsSource::Provided,
        };
    })
    .await;
    let url = gw.url();
    let cert = gw.dir.path().join("other-cert.pem");
    let env = [
        ("SLUICE_URL", url.as_str()),
        ("SLUICE_TOKEN", gw.admin_token.as_str()),
        ("SLUICE_CA_CERT", path_str(&cert)),
    ];
    let refused = sluice(&gw.elsewhere(), &env, &["whoami"]).failure();
    assert!(
        refused.stderr.contains("certificate for another name") && refused.stderr.contains("--url"),
        "{}",
        refused.stderr
    );
    gw.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_ignores_the_ca_setting() {
    let dir = tempfile::tempdir().unwrap();
    let running = gateway::start(Config::for_data_dir(dir.path().join("data")))
        .await
        .unwrap();
    assert!(running.api_url.starts_with("http://"));
    let token = running.admin_token.as_ref().unwrap().expose().clone();
    let env = [
        ("SLUICE_URL", running.api_url.as_str()),
        ("SLUICE_TOKEN", token.as_str()),
        ("SLUICE_CA_CERT", "/nonexistent/ca.pem"),
    ];
    let who = sluice(dir.path(), &env, &["whoami"]).success();
    assert!(who.stdout.contains("name:     admin"), "{}", who.stdout);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sluice_login_works_against_an_https_api() {
    let idp = tokio::task::block_in_place(|| {
        OidcProvider::start(
            OidcSetup::default()
                .user("alice", "alice-password", &["developers"])
                .client("sluice-cli", ClientKind::Native),
        )
        .expect("the OpenID provider starts (needs node and npm: apt install nodejs npm)")
    });
    let providers = format!(
        "[[oidc.providers]]\nname = \"test-idp\"\nissuer = \"{}\"\nclient_id = \"sluice-cli\"\n",
        idp.issuer()
    );
    let gw = HttpsGateway::start(|config, _| config.oidc = oidc_support::oidc_config(&providers)).await;
    let url = gw.url();
    let cert = gw.cert();
    let home = gw.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let env = [
        ("SLUICE_URL", url.as_str()),
        ("SLUICE_CA_CERT", path_str(&cert)),
        ("XDG_CONFIG_HOME", path_str(&home)),
        ("HOME", path_str(&home)),
    ];

    let (ok, printed, stderr) = tokio::task::block_in_place(|| {
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["login", "--no-browser"])
            .current_dir(&home)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        oidc_support::drive_cli_login(child, &idp, "alice", "alice-password")
    });
    assert!(ok, "{printed}\n{stderr}");
    assert!(printed.contains("as alice via test-idp"), "{printed}");

    // The saved session is for the HTTPS URL and is used over HTTPS.
    let who = sluice(&home, &env, &["whoami"]).success();
    assert!(who.stdout.contains("name:     alice"), "{}", who.stdout);
    assert!(
        who.stdout.contains("auth:     login via test-idp"),
        "{}",
        who.stdout
    );
    // The CA is still required for it: the saved session does not bypass verification.
    let refused = sluice(&home, &[env[0], env[2], env[3]], &["whoami"]).failure();
    assert!(
        refused.stderr.contains("could not be verified"),
        "{}",
        refused.stderr
    );
    gw.running.shutdown().await;
}
