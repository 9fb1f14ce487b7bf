//! OIDC providers: defaults, mappings, secrets from the environment, CA files and errors.

use super::*;

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
