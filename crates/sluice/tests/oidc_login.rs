//! OpenID login end to end with a real provider (`oidc-provider` from npm, run by `sluice_testbed::oidc`): the
//! `sluice login` CLI through the authorization code flow with PKCE and its loopback redirect (driven headlessly
//! through the provider's login and consent forms) and through the device flow, `whoami` and `logout` with the saved
//! session, just-in-time provisioning and group changes at the provider reflected at the next login, client
//! credentials bearer tokens, disabled users, and the web login with its cookie session and CSRF rule.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod oidc_support;

use oidc_support::{bearer, blocking, cli_login, Api, CI_JOB, CLI};
use serde_json::{json, Value};
use sluice_testbed::oidc::{ClientKind, OidcProvider, OidcSetup, REDIRECT_URI, RESOURCE};
use std::io::{BufRead as _, BufReader, Read as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

fn provider() -> OidcProvider {
    blocking(|| {
        OidcProvider::start(
            OidcSetup::default()
                .user("alice", "alice-password", &["db-admins", "developers"])
                .user("bob", "bob-password", &["developers"])
                .client(CLI, ClientKind::Native)
                .client(
                    CI_JOB,
                    ClientKind::Service {
                        groups: vec!["ci-runners".to_owned()],
                    },
                ),
        )
        .expect("the OpenID provider starts (needs node and npm: apt install nodejs npm)")
    })
}

fn config(idp: &OidcProvider) -> String {
    format!(
        r#"
[[oidc.providers]]
name = "test-idp"
issuer = "{issuer}"
client_id = "{CLI}"
allow_bearer = true
audience = "{RESOURCE}"
session_ttl = "2h"
redirect_url = "{REDIRECT_URI}"
[oidc.providers.groups]
"db-admins" = ["dba"]
"ci-runners" = ["deployers"]
[oidc.providers.roles]
"auditors" = "auditor"
"#,
        issuer = idp.issuer()
    )
}

async fn setup() -> (OidcProvider, Api) {
    let idp = provider();
    let api = Api::start(&config(&idp)).await;
    (idp, api)
}

fn saved_session(home: &Path) -> Value {
    let path = home.join("sluice/session.json");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", path.display());
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cli_login_provisions_the_user_and_group_changes_at_the_provider_show_at_the_next_login() {
    let (idp, api) = setup().await;
    let home = api.home("alice");

    let (ok, out, err) = blocking(|| cli_login(&api, &idp, &home, "alice", "alice-password"));
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("as alice via test-idp") && out.contains("groups: dba, developers"),
        "{out}"
    );
    let session = saved_session(&home);
    let first_token = session["token"].as_str().unwrap().to_owned();
    assert!(first_token.starts_with("slc_"));
    assert_eq!(session["url"], api.url.as_str());

    // whoami uses the saved session: user, groups, how, until when (the configured 2 h).
    let (ok, out, err) = blocking(|| api.run(&home, &["whoami"]));
    assert!(ok, "{err}");
    assert!(out.contains("name:     alice"), "{out}");
    assert!(out.contains("kind:     human"), "{out}");
    assert!(out.contains("role:     user"), "{out}");
    assert!(out.contains("groups:   dba, developers"), "{out}");
    assert!(out.contains("auth:     login via test-idp"), "{out}");
    let (_, json_out, _) = blocking(|| api.run(&home, &["whoami", "--json"]));
    let who: Value = serde_json::from_str(&json_out).unwrap();
    let expires = time::OffsetDateTime::parse(
        who["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let left = expires - time::OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::minutes(115) && left <= time::Duration::hours(2),
        "{left}"
    );
    // Other client commands use it too.
    let (ok, _, err) = blocking(|| api.run(&home, &["token", "list"]));
    assert!(ok, "{err}");

    // Provisioned just in time, audited with the identity.
    let user = api.store.user_by_name("alice").await.unwrap().unwrap();
    assert_eq!(user.groups, ["dba", "developers"]);
    let audit = api.store.list_audit(&Default::default()).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "user.create" && e.target == "alice" && e.detail["provider"] == "test-idp"));

    // The provider moves alice: the next login brings the new groups and the mapped role.
    blocking(|| idp.set_user_groups("alice", &["developers", "auditors"]).unwrap());
    let (ok, out, err) = blocking(|| cli_login(&api, &idp, &home, "alice", "alice-password"));
    assert!(ok, "{out}\n{err}");
    let (_, out, _) = blocking(|| api.run(&home, &["whoami"]));
    assert!(out.contains("groups:   auditors, developers"), "{out}");
    assert!(out.contains("role:     auditor"), "{out}");
    let again = api.store.user_by_name("alice").await.unwrap().unwrap();
    assert_eq!(again.id, user.id, "the same user, not a new one");

    // logout revokes the saved token and deletes the file; the token is dead for the API.
    let second_token = saved_session(&home)["token"].as_str().unwrap().to_owned();
    let (ok, out, err) = blocking(|| api.run(&home, &["logout"]));
    assert!(ok, "{err}");
    assert!(out.contains("revoked"), "{out}");
    assert!(!home.join("sluice/session.json").exists());
    let reply = blocking(|| api.http("GET", "/api/v1/auth/session", &[bearer(&second_token)], None));
    assert_eq!(reply.status, 401);
    let (ok, _, err) = blocking(|| api.run(&home, &["whoami"]));
    assert!(!ok && err.contains("sluice login"), "{err}");
    // The first login's session is independent and still valid until it expires or is revoked.
    let reply = blocking(|| api.http("GET", "/api/v1/auth/session", &[bearer(&first_token)], None));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["login_groups"], json!(["dba", "developers"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cli_device_flow_login_works() {
    let (idp, api) = setup().await;
    let home = api.home("bob");
    let mut child = api
        .cli(&home, &["login", "--device", "--provider", "test-idp"])
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    let complete = blocking(|| loop {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "{printed}");
        printed.push_str(&line);
        if line.trim_start().starts_with("http") {
            break line.trim().to_owned();
        }
    });
    blocking(|| idp.device_login(&complete, "bob", "bob-password").unwrap());
    let status = blocking(|| {
        stdout.read_to_string(&mut printed).unwrap();
        child.wait().unwrap()
    });
    assert!(status.success(), "{printed}");
    assert!(printed.contains("as bob via test-idp"), "{printed}");
    let (ok, out, _) = blocking(|| api.run(&home, &["whoami"]));
    assert!(ok && out.contains("name:     bob"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn client_credentials_tokens_are_accepted_as_bearer_for_a_service_user() {
    let (idp, api) = setup().await;
    let token = blocking(|| idp.client_credentials_token(CI_JOB).unwrap());
    let reply = blocking(|| api.http("GET", "/api/v1/auth/session", &[bearer(&token)], None));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["method"], "provider");
    assert_eq!(reply.body["provider"], "test-idp");
    assert_eq!(reply.body["user"]["name"], CI_JOB);
    assert_eq!(reply.body["user"]["kind"], "service");
    assert_eq!(reply.body["user"]["groups"], json!(["deployers"]));
    let rows = api.store.list_audit(&Default::default()).await.unwrap().len();
    let reply = blocking(|| api.http("GET", "/api/v1/connections", &[bearer(&token)], None));
    assert_eq!(reply.status, 200);
    assert_eq!(
        api.store.list_audit(&Default::default()).await.unwrap().len(),
        rows,
        "an unchanged identity writes nothing"
    );
    // A provider token cannot be "logged out" at sluice.
    let reply = blocking(|| api.http("POST", "/api/v1/auth/logout", &[bearer(&token)], None));
    assert_eq!(reply.status, 400);

    // New groups at the provider reach the next token.
    blocking(|| {
        idp.set_client_groups(CI_JOB, &["ci-runners", "releasers"])
            .unwrap()
    });
    let token = blocking(|| idp.client_credentials_token(CI_JOB).unwrap());
    let reply = blocking(|| api.http("GET", "/api/v1/me", &[bearer(&token)], None));
    assert_eq!(reply.body["groups"], json!(["deployers", "releasers"]));

    // Disabling the user stops its bearer tokens, with the generic answer.
    let admin = bearer(&api.admin_token);
    let reply = blocking(|| {
        api.http(
            "POST",
            "/api/v1/users/ci-job/disable",
            std::slice::from_ref(&admin),
            None,
        )
    });
    assert_eq!(reply.status, 200);
    let reply = blocking(|| api.http("GET", "/api/v1/me", &[bearer(&token)], None));
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.body["error"]["message"],
        "missing, invalid, expired or revoked token"
    );

    // An ID token is not a bearer token (wrong type and audience), and an access token is not an ID token.
    let tokens = blocking(|| idp.authorization_code_tokens(CLI, "bob", "bob-password").unwrap());
    let reply = blocking(|| api.http("GET", "/api/v1/me", &[bearer(&tokens.id_token)], None));
    assert_eq!(reply.status, 401);
    let body = json!({"provider": "test-idp", "id_token": tokens.access_token});
    let reply = blocking(|| api.http::<&str>("POST", "/api/v1/auth/token", &[], Some(body)));
    assert_eq!(reply.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_disabled_user_loses_its_sessions_and_cannot_log_in_again() {
    let (idp, api) = setup().await;
    let exchange = |id_token: &str| {
        let body = json!({"provider": "test-idp", "id_token": id_token});
        blocking(|| api.http::<&str>("POST", "/api/v1/auth/token", &[], Some(body)))
    };
    let tokens = blocking(|| idp.authorization_code_tokens(CLI, "bob", "bob-password").unwrap());
    let login = exchange(&tokens.id_token);
    assert_eq!(login.status, 201, "{:?}", login.body);
    let session = login.body["token"].as_str().unwrap().to_owned();
    assert_eq!(login.body["user"]["name"], "bob");
    let reply = blocking(|| api.http("GET", "/api/v1/me", &[bearer(&session)], None));
    assert_eq!(reply.status, 200);

    let admin = bearer(&api.admin_token);
    let reply = blocking(|| {
        api.http(
            "POST",
            "/api/v1/users/bob/disable",
            std::slice::from_ref(&admin),
            None,
        )
    });
    assert_eq!(reply.status, 200);
    let reply = blocking(|| api.http("GET", "/api/v1/me", &[bearer(&session)], None));
    assert_eq!(reply.status, 401);
    let tokens = blocking(|| idp.authorization_code_tokens(CLI, "bob", "bob-password").unwrap());
    let refused = exchange(&tokens.id_token);
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.body["error"]["message"],
        "missing, invalid, expired or revoked token"
    );
    // Enabling again restores logins (and the old session, which was never revoked, only suspended).
    let reply = blocking(|| api.http("POST", "/api/v1/users/bob/enable", &[admin], None));
    assert_eq!(reply.status, 200);
    assert_eq!(exchange(&tokens.id_token).status, 201);
}

fn cookie_pair(set_cookies: &[String], name: &str) -> (String, String) {
    let header = set_cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {set_cookies:?}"));
    let value = header
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    (value, header.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn web_login_sets_an_http_only_cookie_session_guarded_against_csrf() {
    let (idp, api) = setup().await;
    let start = blocking(|| api.http::<&str>("GET", "/auth/login/test-idp", &[], None));
    assert_eq!(start.status, 302);
    let location = start.location.unwrap();
    assert!(
        location.starts_with(&idp.issuer()) && location.contains("code_challenge="),
        "{location}"
    );
    let (login_state, login_cookie) = cookie_pair(&start.cookies, "sluice_login");
    assert!(
        login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Lax"),
        "{login_cookie}"
    );

    let redirect = blocking(|| idp.browser_login(&location, "alice", "alice-password").unwrap());
    let query = redirect.split_once('?').unwrap().1.to_owned();
    let callback = format!("/auth/callback?{query}");

    // Without the login cookie (another browser) the redirect is refused.
    let reply = blocking(|| api.http::<&str>("GET", &callback, &[], None));
    assert_eq!(reply.status, 400);
    let cookie = format!("sluice_login={login_state}");
    let done = blocking(|| api.http("GET", &callback, &[("cookie", &cookie)], None));
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["user"]["name"], "alice");
    let (session, session_cookie) = cookie_pair(&done.cookies, "sluice_session");
    assert!(session.starts_with("slc_"));
    assert!(
        session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"),
        "{session_cookie}"
    );
    assert!(
        !session_cookie.contains("Secure"),
        "plain-HTTP test API: no Secure flag"
    );
    let (csrf, csrf_cookie) = cookie_pair(&done.cookies, "sluice_csrf");
    assert!(!csrf_cookie.contains("HttpOnly"));
    assert_eq!(done.body["csrf_token"], csrf.as_str());
    // Each login state works once.
    let replay = blocking(|| api.http("GET", &callback, &[("cookie", &cookie)], None));
    assert_eq!(replay.status, 400);

    // Reads work with the cookie alone; changes need the CSRF header too.
    let jar = format!("sluice_session={session}; sluice_csrf={csrf}");
    let me = blocking(|| api.http("GET", "/api/v1/auth/session", &[("cookie", &jar)], None));
    assert_eq!(me.status, 200);
    assert_eq!(me.body["method"], "cookie");
    assert_eq!(me.body["login_session"], true);
    for headers in [
        vec![("cookie", jar.as_str())],
        vec![("cookie", jar.as_str()), ("x-csrf-token", "0000")],
    ] {
        let reply = blocking(|| api.http("POST", "/api/v1/auth/logout", &headers, None));
        assert_eq!(reply.status, 403, "{:?}", reply.body);
    }
    let reply = blocking(|| {
        api.http(
            "POST",
            "/api/v1/auth/logout",
            &[("cookie", &jar), ("x-csrf-token", &csrf)],
            None,
        )
    });
    assert_eq!(reply.status, 204);
    assert!(reply
        .cookies
        .iter()
        .any(|c| c.starts_with("sluice_session=;") && c.contains("Max-Age=0")));
    let after = blocking(|| api.http("GET", "/api/v1/auth/session", &[("cookie", &jar)], None));
    assert_eq!(after.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_provider_list_is_public_and_unknown_providers_are_named() {
    let (idp, api) = setup().await;
    let reply = blocking(|| api.http::<&str>("GET", "/api/v1/auth/providers", &[], None));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body[0]["name"], "test-idp");
    assert_eq!(reply.body[0]["issuer"], idp.issuer().as_str());
    assert_eq!(reply.body[0]["client_id"], CLI);
    assert_eq!(reply.body[0]["device_flow"], true);
    let home = api.home("x");
    let (ok, _, err) = blocking(|| api.run(&home, &["login", "--provider", "nope", "--no-browser"]));
    assert!(
        !ok && err.contains("no identity provider `nope`") && err.contains("test-idp"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_and_cached_keys_survive_a_provider_outage() {
    let (mut idp, api) = setup().await;
    let tokens = blocking(|| idp.authorization_code_tokens(CLI, "bob", "bob-password").unwrap());
    let bearer_token = blocking(|| idp.client_credentials_token(CI_JOB).unwrap());
    let body = json!({"provider": "test-idp", "id_token": tokens.id_token});
    let login = blocking(|| api.http::<&str>("POST", "/api/v1/auth/token", &[], Some(body.clone())));
    assert_eq!(login.status, 201, "{:?}", login.body);
    let session = login.body["token"].as_str().unwrap().to_owned();

    blocking(|| idp.stop());
    assert!(!idp.is_running());
    // The sluice session does not depend on the provider at all.
    let reply = blocking(|| api.http("GET", "/api/v1/me", &[bearer(&session)], None));
    assert_eq!(reply.status, 200);
    // Tokens signed with keys already cached still validate while the provider is down.
    let reply = blocking(|| api.http("GET", "/api/v1/me", &[bearer(&bearer_token)], None));
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let again = blocking(|| api.http::<&str>("POST", "/api/v1/auth/token", &[], Some(body)));
    assert_eq!(again.status, 201, "{:?}", again.body);
    // Logging in afresh needs the provider: the CLI says so instead of hanging.
    let home = api.home("bob");
    let (ok, _, err) = blocking(|| api.run(&home, &["login", "--no-browser"]));
    assert!(!ok && err.contains("cannot reach the identity provider"), "{err}");
}
