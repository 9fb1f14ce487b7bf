//! The `options` of a connection, checked when an admin creates it.
//!
//! The proxies read these options each time a session starts, and they ignore keys they do not know, so that an
//! older gateway can still serve a store written by a newer one. That leniency is wrong at the front door: a typo
//! (`read_onyl = true`) would silently leave a production database writable. So the API accepts only the keys the
//! connection's protocol uses, each with its type, and answers 400 naming the key and what it expects.

use serde_json::{Map, Value};
use sluice_model::Protocol;

use crate::error::ApiError;

/// Longest accepted `ca_pem` (a CA bundle such as a cloud provider's fits easily).
const MAX_CA_PEM: usize = 256 * 1024;

/// What a key holds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Bool,
    /// A non-negative integer.
    Count,
    /// A list of non-empty strings.
    Tags,
    /// `disable`, `require` or `verify-full`.
    PgTls,
    /// PEM text with at least one certificate.
    CaPem,
    /// One OpenSSH public key line.
    HostKey,
}

impl Kind {
    fn expects(self) -> &'static str {
        match self {
            Kind::Bool => "true or false",
            Kind::Count => "a whole number of bytes (0: no limit)",
            Kind::Tags => "a list of non-empty strings",
            Kind::PgTls => "\"disable\", \"require\" or \"verify-full\"",
            Kind::CaPem => "PEM text with at least one -----BEGIN CERTIFICATE----- block",
            Kind::HostKey => "one OpenSSH public key line (as in known_hosts, without the host name)",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        match self {
            Kind::Bool => value.is_boolean(),
            Kind::Count => value.is_u64(),
            Kind::Tags => value
                .as_array()
                .is_some_and(|a| a.iter().all(|t| t.as_str().is_some_and(|t| !t.trim().is_empty()))),
            Kind::PgTls => matches!(value.as_str(), Some("disable" | "require" | "verify-full")),
            Kind::CaPem => value.as_str().is_some_and(is_certificate_pem),
            Kind::HostKey => value
                .as_str()
                .is_some_and(|line| ssh_key::PublicKey::from_openssh(line.trim()).is_ok()),
        }
    }
}

/// The keys each protocol reads (see the proxies' READMEs).
fn known(protocol: Protocol) -> &'static [(&'static str, Kind)] {
    match protocol {
        Protocol::Postgres => &[
            ("tls", Kind::PgTls),
            ("ca_pem", Kind::CaPem),
            ("allow_other_databases", Kind::Bool),
            ("tags", Kind::Tags),
            ("read_only", Kind::Bool),
        ],
        Protocol::Ssh => &[
            ("host_key", Kind::HostKey),
            ("allow_port_forwarding", Kind::Bool),
            ("exec_only", Kind::Bool),
            ("record_output", Kind::Bool),
            ("record_output_limit", Kind::Count),
            ("tags", Kind::Tags),
            ("read_only", Kind::Bool),
        ],
        Protocol::Mysql | Protocol::Http => &[("tags", Kind::Tags), ("read_only", Kind::Bool)],
    }
}

/// Checks `options` for a connection of `protocol`.
pub(super) fn check(protocol: Protocol, options: &Map<String, Value>) -> Result<(), ApiError> {
    let keys = known(protocol);
    for (key, value) in options {
        let Some((_, kind)) = keys.iter().find(|(k, _)| k == key) else {
            let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
            return Err(ApiError::bad_request(
                "invalid_option",
                format!(
                    "unknown option `{key}` for a {} connection; known options: {}",
                    protocol.as_str(),
                    names.join(", ")
                ),
            ));
        };
        if !kind.accepts(value) {
            return Err(ApiError::bad_request(
                "invalid_option",
                format!("option `{key}` must be {}", kind.expects()),
            ));
        }
    }
    if options.contains_key("ca_pem")
        && options.get("tls").and_then(Value::as_str).unwrap_or("disable") == "disable"
    {
        return Err(ApiError::bad_request(
            "invalid_option",
            "option `ca_pem` needs `tls` set to \"require\" or \"verify-full\": without TLS it would verify nothing",
        ));
    }
    Ok(())
}

/// Whether `text` is PEM holding certificates only, at least one, and not too long.
fn is_certificate_pem(text: &str) -> bool {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::CertificateDer;
    if text.len() > MAX_CA_PEM {
        return false;
    }
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(text.as_bytes()).collect();
    certs.is_ok_and(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn options(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn message(result: Result<(), ApiError>) -> String {
        match result {
            Err(ApiError::BadRequest { message, .. }) => message,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn a_typo_is_refused_naming_the_key_and_the_known_ones() {
        let m = message(check(Protocol::Postgres, &options(json!({ "read_onyl": true }))));
        assert!(m.contains("`read_onyl`"), "{m}");
        assert!(m.contains("read_only"), "{m}");
        // An SSH option on a PostgreSQL connection is just as unknown.
        let m = message(check(Protocol::Postgres, &options(json!({ "exec_only": true }))));
        assert!(m.contains("exec_only"), "{m}");
    }

    #[test]
    fn each_value_must_have_its_type() {
        for (key, value) in [
            ("tls", json!("prefer")),
            ("tls", json!(true)),
            ("allow_other_databases", json!("yes")),
            ("tags", json!(["prod", ""])),
            ("tags", json!("prod")),
            ("ca_pem", json!("not a certificate")),
        ] {
            let mut o = Map::new();
            o.insert(key.to_owned(), value.clone());
            let m = message(check(Protocol::Postgres, &o));
            assert!(m.contains(&format!("`{key}`")), "{key}={value}: {m}");
        }
        let m = message(check(
            Protocol::Ssh,
            &options(json!({ "record_output_limit": -1 })),
        ));
        assert!(m.contains("whole number"), "{m}");
        let m = message(check(
            Protocol::Ssh,
            &options(json!({ "host_key": "ssh-ed25519 AAAA" })),
        ));
        assert!(m.contains("OpenSSH public key"), "{m}");
    }

    #[test]
    fn a_ca_without_tls_is_refused() {
        let m = message(check(Protocol::Postgres, &options(json!({ "ca_pem": CA }))));
        assert!(m.contains("needs `tls`"), "{m}");
    }

    #[test]
    fn what_each_proxy_reads_is_accepted() {
        check(
            Protocol::Postgres,
            &options(json!({
                "tls": "verify-full", "ca_pem": CA, "allow_other_databases": true,
                "tags": ["prod"], "read_only": false
            })),
        )
        .unwrap();
        check(
            Protocol::Ssh,
            &options(json!({
                "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA7uSIYMpjRb2sM1jD+tXJL4Lbymvm2yCnIORSGSGa/3",
                "allow_port_forwarding": true, "exec_only": false, "record_output": true,
                "record_output_limit": 0, "tags": ["web"], "read_only": true
            })),
        )
        .unwrap();
        check(Protocol::Postgres, &Map::new()).unwrap();
    }

    /// A throwaway self-signed certificate (only its public half; the key was never kept).
    const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBfzCCASWgAwIBAgIUG2LVxlGju+5bGWbAZqj3gvXDVj8wCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKZXhhbXBsZS1jYTAeFw0yNjExMjcxMTMzNDhaFw0zNjExMjQx
MTMzNDhaMBUxEzARBgNVBAMMCmV4YW1wbGUtY2EwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQKzo8UaJoC3w+k6gzZ/oNxRQJnJvZu3w+l7Hnj6xWFuv/MHkDQ3xH8
sy3A7f1MQoj6kBYBfDaGU3q3V4h9Lb2zo1MwUTAdBgNVHQ4EFgQUHCvbiA9QaE3C
H1YPUGej9pNeenMwHwYDVR0jBBgwFoAUHCvbiA9QaE3CH1YPUGej9pNeenMwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAg82MYgDFLX2gRd98pO/9
w4VfzGHOy0ft+5RuBowVE7ECIG/9SLB9eeNyFh0FsX6Z6ZrATz09NpR2ToeGGnGt
NB8m
-----END CERTIFICATE-----
";
}
