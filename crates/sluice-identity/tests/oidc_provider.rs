//! The OIDC core against a real OpenID provider (the `oidc-provider` npm package, from `sluice_testbed::oidc`):
//! discovery, client credentials JWTs, the authorization code flow with PKCE driven headlessly, key rotation,
//! expiry, group changes and the device flow.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sluice_identity::oidc::{
    DeviceAuthorization, DevicePoll, GroupMapping, GroupsClaim, HttpFetcher, Identity, PendingLogin,
    Provider, ProviderConfig, Providers, Rejection, ValidationSettings,
};
use sluice_identity::IdentityError;
use sluice_model::{Role, Secret};
use sluice_testbed::oidc::{ClientKind, OidcProvider, OidcSetup, REDIRECT_URI, RESOURCE};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const CLI: &str = "sluice-cli";
const CI_JOB: &str = "ci-job";
const WEB: &str = "sluice-web";

fn setup() -> OidcSetup {
    OidcSetup::default()
        .user("alice", "alice-password", &["db-admins", "developers"])
        .user("bob", "bob-password", &["developers"])
        .client(CLI, ClientKind::Native)
        .client(WEB, ClientKind::Web)
        .client(
            CI_JOB,
            ClientKind::Service {
                groups: vec!["ci-runners".to_owned()],
            },
        )
}

fn start(setup: OidcSetup) -> OidcProvider {
    OidcProvider::start(setup).unwrap()
}

/// sluice's configuration for the test provider: the CLI's client id, JWT access tokens for [`RESOURCE`] accepted,
/// and a mapping that renames one group and grants one role.
fn config(idp: &OidcProvider) -> ProviderConfig {
    let mut config = ProviderConfig::new("test-idp", &idp.issuer(), CLI);
    config.audience = Some(RESOURCE.to_owned());
    config.allow_bearer_tokens = true;
    config.group_mapping = GroupMapping {
        groups: BTreeMap::from([("db-admins".to_owned(), vec!["dba".to_owned()])]),
        roles: BTreeMap::from([("auditors".to_owned(), Role::Auditor)]),
        keep_unmapped: true,
    };
    config
}

async fn discover(config: ProviderConfig, settings: ValidationSettings) -> Provider {
    Provider::discover(config, Arc::new(HttpFetcher::default()), settings)
        .await
        .unwrap()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

/// Logs `user` in through the provider's forms and returns the verified identity.
async fn login(idp: &OidcProvider, provider: &Provider, user: &str, password: &str) -> Identity {
    let pending = PendingLogin::start(provider, "http://127.0.0.1:48123/callback").unwrap();
    assert!(pending.authorize_url.contains("code_challenge_method=S256"));
    let redirect = idp.browser_login(&pending.authorize_url, user, password).unwrap();
    assert!(
        redirect.starts_with("http://127.0.0.1:48123/callback?"),
        "{redirect}"
    );
    let query = redirect.split_once('?').unwrap().1;
    let code = pending.code_from_redirect(provider, query).unwrap();
    let tokens = pending
        .exchange(provider, &code, SystemTime::now())
        .await
        .unwrap();
    assert!(tokens.access_token.is_some());
    tokens.identity
}

fn rejection(result: Result<Identity, IdentityError>) -> Rejection {
    match result {
        Err(IdentityError::TokenRejected(reason)) => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_credentials_jwt_validates_as_a_bearer_token_with_mapped_groups() {
    let idp = start(setup());
    let mut config = config(&idp);
    config
        .group_mapping
        .groups
        .insert("ci-runners".to_owned(), vec!["deployers".to_owned()]);
    let provider = discover(config, ValidationSettings::default()).await;
    let token = idp.client_credentials_token(CI_JOB).unwrap();
    let identity = provider
        .validate_bearer_token(&token, SystemTime::now())
        .await
        .unwrap();
    assert_eq!(identity.subject, CI_JOB);
    assert_eq!(identity.provider, "test-idp");
    assert_eq!(identity.provider_groups, set(&["ci-runners"]));
    assert_eq!(identity.groups, set(&["deployers"]));
    assert_eq!(identity.role, Role::User);
    // The same token is not an ID token for the CLI.
    assert_eq!(
        rejection(provider.validate_id_token(&token, None, SystemTime::now()).await),
        Rejection::WrongTokenType
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_authorization_code_flow_with_pkce_yields_a_validated_id_token_with_the_users_groups() {
    let idp = start(setup());
    let provider = discover(config(&idp), ValidationSettings::default()).await;
    let identity = login(&idp, &provider, "alice", "alice-password").await;
    assert_eq!(identity.subject, "alice");
    assert_eq!(identity.username.as_deref(), Some("alice"));
    assert_eq!(identity.email.as_deref(), Some("alice@example.test"));
    assert_eq!(identity.groups, set(&["dba", "developers"]));
    assert!(identity.expires_at > SystemTime::now());

    // A wrong password never reaches the redirect.
    let pending = PendingLogin::start(&provider, "http://127.0.0.1:48123/callback").unwrap();
    assert!(idp
        .browser_login(&pending.authorize_url, "alice", "wrong")
        .is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confidential_client_authenticates_its_code_exchange_with_its_secret() {
    let idp = start(setup());
    let mut web = config(&idp);
    web.client_id = WEB.to_owned();
    web.client_secret = Some(Secret::new(idp.client_secret(WEB).unwrap().to_owned()));
    let provider = discover(web.clone(), ValidationSettings::default()).await;
    let pending = PendingLogin::start(&provider, REDIRECT_URI).unwrap();
    let redirect = idp
        .browser_login(&pending.authorize_url, "alice", "alice-password")
        .unwrap();
    let code = pending
        .code_from_redirect(&provider, redirect.split_once('?').unwrap().1)
        .unwrap();
    let tokens = pending
        .exchange(&provider, &code, SystemTime::now())
        .await
        .unwrap();
    assert_eq!(tokens.identity.subject, "alice");

    // The same flow with a wrong secret is refused by the provider.
    web.client_secret = Some(Secret::new("not-the-secret".to_owned()));
    let impostor = discover(web, ValidationSettings::default()).await;
    let pending = PendingLogin::start(&impostor, REDIRECT_URI).unwrap();
    let redirect = idp
        .browser_login(&pending.authorize_url, "alice", "alice-password")
        .unwrap();
    let code = pending
        .code_from_redirect(&impostor, redirect.split_once('?').unwrap().1)
        .unwrap();
    let err = pending
        .exchange(&impostor, &code, SystemTime::now())
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::LoginFailed { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_testbeds_own_code_flow_helper_yields_tokens_sluice_accepts() {
    let idp = start(setup());
    let provider = discover(config(&idp), ValidationSettings::default()).await;
    let tokens = idp.authorization_code_tokens(CLI, "bob", "bob-password").unwrap();
    let identity = provider
        .validate_id_token(&tokens.id_token, None, SystemTime::now())
        .await
        .unwrap();
    assert_eq!(identity.subject, "bob");
    let bearer = provider
        .validate_bearer_token(&tokens.access_token, SystemTime::now())
        .await
        .unwrap();
    assert_eq!(bearer.groups, set(&["developers"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_from_another_login_or_provider_is_refused() {
    let idp = start(setup());
    let provider = discover(config(&idp), ValidationSettings::default()).await;
    let first = PendingLogin::start(&provider, "http://127.0.0.1:48123/callback").unwrap();
    let second = PendingLogin::start(&provider, "http://127.0.0.1:48123/callback").unwrap();
    let redirect = idp
        .browser_login(&first.authorize_url, "bob", "bob-password")
        .unwrap();
    let query = redirect.split_once('?').unwrap().1;
    assert!(matches!(
        second.code_from_redirect(&provider, query),
        Err(IdentityError::LoginFailed { .. })
    ));
    let other_issuer = query.replace("iss=http", "iss=https");
    assert!(matches!(
        first.code_from_redirect(&provider, &other_issuer),
        Err(IdentityError::LoginFailed { .. })
    ));
    assert!(first.code_from_redirect(&provider, query).is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_groups_claim_style_reads_the_same_groups_from_real_tokens() {
    let idp = start(setup());
    for claim in [
        GroupsClaim::list("groups"),
        GroupsClaim::list("realm_access.roles"),
        GroupsClaim::joined("groups_csv", ','),
    ] {
        let mut config = config(&idp);
        config.groups_claim = claim.clone();
        config.group_mapping = GroupMapping::pass_through();
        let provider = discover(config, ValidationSettings::default()).await;
        let identity = login(&idp, &provider, "alice", "alice-password").await;
        assert_eq!(identity.groups, set(&["db-admins", "developers"]), "{claim:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_key_is_fetched_on_its_unknown_kid_and_old_keys_survive_an_outage() {
    let mut idp = start(setup());
    let eager = discover(
        config(&idp),
        ValidationSettings {
            min_key_refresh_interval: Duration::ZERO,
            ..ValidationSettings::default()
        },
    )
    .await;
    let rate_limited = discover(config(&idp), ValidationSettings::default()).await;
    let before = idp.client_credentials_token(CI_JOB).unwrap();
    assert!(eager
        .validate_bearer_token(&before, SystemTime::now())
        .await
        .is_ok());

    let kid = idp.rotate_keys().unwrap();
    let after = idp.client_credentials_token(CI_JOB).unwrap();
    assert!(!eager.cached_kids().contains(&kid));
    assert!(eager
        .validate_bearer_token(&after, SystemTime::now())
        .await
        .is_ok());
    assert!(eager.cached_kids().contains(&kid));
    // Right after discovery, the other validator may not fetch again yet: the new kid is unknown to it for now.
    assert_eq!(
        rejection(
            rate_limited
                .validate_bearer_token(&after, SystemTime::now())
                .await
        ),
        Rejection::UnknownKey
    );

    idp.stop();
    assert!(eager
        .validate_bearer_token(&before, SystemTime::now())
        .await
        .is_ok());
    assert!(eager
        .validate_bearer_token(&after, SystemTime::now())
        .await
        .is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_from_the_provider_is_rejected() {
    let idp = start(OidcSetup {
        access_token_ttl: Duration::from_secs(3),
        ..setup()
    });
    let provider = discover(
        config(&idp),
        ValidationSettings {
            leeway: Duration::ZERO,
            ..ValidationSettings::default()
        },
    )
    .await;
    let token = idp.client_credentials_token(CI_JOB).unwrap();
    let identity = provider
        .validate_bearer_token(&token, SystemTime::now())
        .await
        .unwrap();
    assert!(identity.expires_at <= SystemTime::now() + Duration::from_secs(3));
    // NumericDates are whole seconds: one more second past `exp` is expired whatever the rounding.
    let wait = identity
        .expires_at
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        + Duration::from_millis(1100);
    tokio::time::sleep(wait).await;
    assert_eq!(
        rejection(provider.validate_bearer_token(&token, SystemTime::now()).await),
        Rejection::Expired
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_change_at_the_provider_is_reflected_at_the_next_login() {
    let idp = start(setup());
    let provider = discover(config(&idp), ValidationSettings::default()).await;
    let first = login(&idp, &provider, "alice", "alice-password").await;
    assert_eq!(first.groups, set(&["dba", "developers"]));
    assert_eq!(first.role, Role::User);

    idp.set_user_groups("alice", &["auditors"]).unwrap();
    let second = login(&idp, &provider, "alice", "alice-password").await;
    assert_eq!(second.groups, set(&["auditors"]));
    assert_eq!(second.role, Role::Auditor);

    idp.set_client_groups(CI_JOB, &["nightly"]).unwrap();
    let token = idp.client_credentials_token(CI_JOB).unwrap();
    let service = provider
        .validate_bearer_token(&token, SystemTime::now())
        .await
        .unwrap();
    assert_eq!(service.groups, set(&["nightly"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_device_flow_completes_once_the_user_confirms_the_code_in_a_browser() {
    let idp = start(setup());
    let provider = discover(config(&idp), ValidationSettings::default()).await;
    let mut device = DeviceAuthorization::start(&provider, SystemTime::now())
        .await
        .unwrap();
    assert!(!device.user_code.is_empty());
    assert!(
        device.verification_uri.starts_with(&idp.issuer()),
        "{}",
        device.verification_uri
    );
    assert!(matches!(
        device.poll(&provider, SystemTime::now()).await.unwrap(),
        DevicePoll::Pending
    ));

    let complete = device.verification_uri_complete.clone().unwrap();
    idp.device_login(&complete, "bob", "bob-password").unwrap();
    let deadline = SystemTime::now() + Duration::from_secs(60);
    let tokens = loop {
        assert!(SystemTime::now() < deadline, "the device login never completed");
        tokio::time::sleep(device.interval).await;
        match device.poll(&provider, SystemTime::now()).await.unwrap() {
            DevicePoll::Complete(tokens) => break tokens,
            DevicePoll::Pending | DevicePoll::SlowDown => {}
        }
    };
    assert_eq!(tokens.identity.subject, "bob");
    assert_eq!(tokens.identity.groups, set(&["developers"]));

    // The device code is spent: polling again ends the flow.
    assert!(matches!(
        device.poll(&provider, SystemTime::now()).await,
        Err(IdentityError::LoginFailed { .. })
    ));
    let late = SystemTime::now() + Duration::from_secs(3600);
    assert!(matches!(
        device.poll(&provider, late).await,
        Err(IdentityError::LoginFailed { .. })
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_tokens_are_routed_to_the_provider_of_their_issuer() {
    let first = start(setup());
    let second = start(setup());
    let mut second_config = config(&second);
    second_config.name = "second-idp".to_owned();
    let providers = Providers::new(vec![
        discover(config(&first), ValidationSettings::default()).await,
        discover(second_config, ValidationSettings::default()).await,
    ])
    .unwrap();
    assert!(providers.by_name("second-idp").is_some());
    let from_second = second.client_credentials_token(CI_JOB).unwrap();
    assert!(Providers::looks_like_jwt(&from_second));
    assert!(!Providers::looks_like_jwt("slc_abcdef"));
    let identity = providers
        .validate_bearer_token(&from_second, SystemTime::now())
        .await
        .unwrap();
    assert_eq!(identity.provider, "second-idp");
    let from_first = first.client_credentials_token(CI_JOB).unwrap();
    let identity = providers
        .validate_bearer_token(&from_first, SystemTime::now())
        .await
        .unwrap();
    assert_eq!(identity.provider, "test-idp");

    // A third provider nobody configured.
    let stranger = start(setup());
    let foreign = stranger.client_credentials_token(CI_JOB).unwrap();
    assert_eq!(
        rejection(providers.validate_bearer_token(&foreign, SystemTime::now()).await),
        Rejection::WrongIssuer
    );
    let duplicate = Providers::new(vec![
        discover(config(&first), ValidationSettings::default()).await,
        discover(config(&first), ValidationSettings::default()).await,
    ]);
    assert!(duplicate.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_requires_the_exact_issuer() {
    let idp = start(setup());
    let mut config = config(&idp);
    config.issuer = format!("{}/", idp.issuer());
    let err = Provider::discover(
        config,
        Arc::new(HttpFetcher::default()),
        ValidationSettings::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, IdentityError::ProviderUnavailable { .. }), "{err}");
    assert!(err.to_string().contains("not"), "{err}");
}
