//! An OpenID provider's JWT access token typed as the SSH password (a CI job's client credentials token, from the
//! real `oidc-provider` of `sluice_testbed::oidc`), through the real OpenSSH client: it logs in as the service user
//! it maps to, with the same rules as the PostgreSQL proxy (the code is shared). Tokens of a provider without
//! `allow_bearer`, for another audience, expired, of a provider not discovered, or naming another user, and a
//! disabled service user, are refused like a wrong sluice token.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sluice_identity::oidc::{
    GroupMapping, HttpFetcher, Provider, ProviderConfig, Providers, ValidationSettings,
};
use sluice_store::{Actor, SessionFilter};
use sluice_testbed::oidc::{ClientKind, OidcProvider, OidcSetup, RESOURCE};
use support::{stderr, stdout, Harness, Options};

const CI_JOB: &str = "ci-job";

fn idp(access_token_ttl: Duration) -> OidcProvider {
    OidcProvider::start(OidcSetup {
        access_token_ttl,
        ..OidcSetup::default().client(
            CI_JOB,
            ClientKind::Service {
                groups: vec!["ci-runners".to_owned()],
            },
        )
    })
    .expect("the OpenID provider starts (needs node and npm: apt install nodejs npm)")
}

/// The provider as the gateway configures it: bearer tokens for `audience`, `ci-runners` mapped to `ops` (the group
/// `web-1` allows). No clock leeway, so the expiry check is testable in seconds.
fn config(idp: &OidcProvider, allow_bearer: bool, audience: &str) -> ProviderConfig {
    let mut config = ProviderConfig::new("corp", &idp.issuer(), "sluice-cli");
    config.allow_bearer_tokens = allow_bearer;
    config.audience = Some(audience.to_owned());
    config.group_mapping = GroupMapping {
        groups: BTreeMap::from([("ci-runners".to_owned(), vec!["ops".to_owned()])]),
        ..GroupMapping::default()
    };
    config
}

fn discovered(config: ProviderConfig) -> Arc<Providers> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let settings = ValidationSettings {
        leeway: Duration::ZERO,
        ..ValidationSettings::default()
    };
    let provider = runtime
        .block_on(Provider::discover(
            config,
            Arc::new(HttpFetcher::default()),
            settings,
        ))
        .expect("discovery");
    Arc::new(Providers::new(vec![provider]).unwrap())
}

fn harness(providers: Arc<Providers>) -> Harness {
    Harness::start_with(Options {
        allow_token_password: true,
        oidc: Some(providers),
        ..Options::default()
    })
}

/// `ssh LOGIN@gateway COMMAND` answering the password prompt with `token` (through SSH_ASKPASS; the token is in a
/// private file, not on a command line).
fn token_login(h: &Harness, login: &str, token: &str, command: &str) -> Command {
    use std::os::unix::fs::PermissionsExt as _;
    let token_file = h.dir.path().join(format!("token-{}", std::process::id()));
    std::fs::write(&token_file, token).unwrap();
    let askpass = h.dir.path().join("askpass.sh");
    std::fs::write(&askpass, format!("#!/bin/sh\ncat '{}'\n", token_file.display())).unwrap();
    std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut cmd = Command::new("ssh");
    cmd.args(["-F", "/dev/null", "-o", "StrictHostKeyChecking=yes"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", h.known_hosts.display()))
        .args(["-o", "PubkeyAuthentication=no", "-o", "IdentityAgent=none"])
        .args(["-o", "PreferredAuthentications=password,keyboard-interactive"])
        .args(["-o", "NumberOfPasswordPrompts=1", "-o", "LogLevel=ERROR"])
        .args(["-p", &h.addr.port().to_string()])
        .arg(format!("{login}@127.0.0.1"))
        .arg(command)
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", ":0");
    cmd
}

fn refused(h: &Harness, login: &str, token: &str) {
    let out = h.run(&mut token_login(h, login, token, "echo in"));
    assert_eq!(out.status.code(), Some(255), "stdout: {}", stdout(&out));
    assert!(stderr(&out).contains("Permission denied"), "{}", stderr(&out));
}

#[test]
fn a_provider_token_logs_in_as_its_service_user_until_it_expires_or_the_user_is_disabled() {
    let ttl = Duration::from_secs(4);
    let idp = idp(ttl);
    let h = harness(discovered(config(&idp, true, RESOURCE)));

    let minted = SystemTime::now();
    let token = idp.client_credentials_token(CI_JOB).unwrap();
    let login = format!("{CI_JOB}%web-1");
    let out = h.run(&mut token_login(&h, &login, &token, "echo in"));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "in\n");
    let (user, sessions) = h.runtime.block_on(async {
        let user = h.store.user_by_name(CI_JOB).await.unwrap();
        let sessions = h.store.list_sessions(&SessionFilter::default()).await.unwrap();
        (user, sessions)
    });
    let user = user.expect("provisioned at first use");
    assert_eq!(user.groups, ["ops"]);
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].start.user_name, CI_JOB);

    // The token stands for ci-job only.
    refused(&h, "alice%web-1", &token);
    // A tampered signature.
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    refused(&h, &login, &tampered);

    // Expired (no leeway configured): wait until its `exp` (at most `ttl` after minting, in whole seconds) has
    // passed.
    let expired = minted + ttl + Duration::from_secs(2);
    while SystemTime::now() < expired {
        std::thread::sleep(Duration::from_millis(100));
    }
    refused(&h, &login, &token);

    // A fresh token works again, until the service user is disabled.
    let fresh = idp.client_credentials_token(CI_JOB).unwrap();
    let out = h.run(&mut token_login(&h, &login, &fresh, "echo again"));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    h.runtime
        .block_on(h.store.set_user_disabled(&Actor::system(), CI_JOB, true))
        .unwrap();
    refused(&h, &login, &fresh);
}

#[test]
fn tokens_of_a_provider_without_bearer_tokens_for_another_audience_or_not_discovered_are_refused() {
    let idp = idp(Duration::from_secs(300));
    let token = idp.client_credentials_token(CI_JOB).unwrap();
    let login = format!("{CI_JOB}%web-1");

    // The same provider and token; only the gateway's configuration differs.
    let no_bearer = harness(discovered(config(&idp, false, RESOURCE)));
    refused(&no_bearer, &login, &token);
    drop(no_bearer);

    let elsewhere = harness(discovered(config(&idp, true, "urn:sluice:elsewhere")));
    refused(&elsewhere, &login, &token);
    drop(elsewhere);

    // Configured but never discovered: fail closed.
    let undiscovered = harness(Arc::new(
        Providers::configured(vec![config(&idp, true, RESOURCE)]).unwrap(),
    ));
    refused(&undiscovered, &login, &token);
    // None of these created a user; sluice tokens are unaffected.
    let user = undiscovered
        .runtime
        .block_on(undiscovered.store.user_by_name(CI_JOB))
        .unwrap();
    assert!(user.is_none());
    let out = undiscovered.run(&mut token_login(
        &undiscovered,
        "alice%web-1",
        &undiscovered.token,
        "echo alice",
    ));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
}
