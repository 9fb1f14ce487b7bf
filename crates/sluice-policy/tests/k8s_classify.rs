//! Kubernetes API request classification: namespace deletion, exec/attach/port-forward (with the exec'd command
//! classified), secret reads in every form, ordinary reads and writes, and paths that must be Opaque.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashSet;

use proptest::prelude::*;
use sluice_policy::facts::{Category, Kind};
use sluice_policy::k8s::{classify, K8sRequest};

use Category::{DeleteNamespace, DestructiveCommand, Opaque, PodExec, SecretRead, Write};

fn request<'a>(method: &'a str, path: &'a str, query: Option<&'a str>) -> K8sRequest<'a> {
    K8sRequest {
        method,
        path,
        query,
        body: None,
    }
}

fn categories(req: &K8sRequest<'_>) -> HashSet<Category> {
    classify(req)
        .items
        .iter()
        .flat_map(|item| item.findings.iter().map(|finding| finding.category))
        .collect()
}

/// Method, path, query, expected kind, expected finding categories.
type Case<'a> = (&'a str, &'a str, Option<&'a str>, Kind, &'a [Category]);

#[test]
fn requests_are_reported_with_the_expected_categories() {
    let cases: &[Case<'_>] = &[
        (
            "DELETE",
            "/api/v1/namespaces/prod",
            None,
            Kind::Write,
            &[Write, DeleteNamespace],
        ),
        (
            "delete",
            "/api/v1/namespaces/prod",
            None,
            Kind::Write,
            &[Write, DeleteNamespace],
        ),
        (
            "DELETE",
            "/api/v1/namespaces/prod/",
            None,
            Kind::Write,
            &[Write, DeleteNamespace],
        ),
        (
            "DELETE",
            "/api/v1/namespaces",
            Some("labelSelector=team%3Dx"),
            Kind::Write,
            &[Write, DeleteNamespace],
        ),
        (
            "DELETE",
            "/api/v1/namespaces/prod/pods/web-1",
            None,
            Kind::Write,
            &[Write],
        ),
        (
            "DELETE",
            "/api/v1/namespaces/prod/pods",
            None,
            Kind::Write,
            &[Write],
        ),
        (
            "PUT",
            "/api/v1/namespaces/prod/finalize",
            None,
            Kind::Write,
            &[Write],
        ),
        ("GET", "/api/v1/namespaces/prod", None, Kind::Read, &[]),
        ("GET", "/api/v1/namespaces", None, Kind::Read, &[]),
        (
            "GET",
            "/api/v1/namespaces/prod/pods/web-1/exec",
            Some("command=ls&stdout=true"),
            Kind::Write,
            &[PodExec],
        ),
        (
            "POST",
            "/api/v1/namespaces/prod/pods/web-1/exec",
            Some("command=ls&command=-la"),
            Kind::Write,
            &[Write, PodExec],
        ),
        (
            "GET",
            "/api/v1/namespaces/prod/pods/web-1/exec",
            Some("command=rm&command=-rf&command=%2F"),
            Kind::Write,
            &[PodExec, DestructiveCommand],
        ),
        (
            "POST",
            "/api/v1/namespaces/prod/pods/web-1/exec",
            Some("command=sh&command=-c&command=rm+-rf+%2F"),
            Kind::Write,
            &[Write, PodExec, DestructiveCommand],
        ),
        (
            "GET",
            "/api/v1/namespaces/prod/pods/web-1/exec",
            Some("command=bash&stdin=true&tty=true"),
            Kind::Write,
            &[PodExec],
        ),
        (
            "GET",
            "/api/v1/namespaces/prod/pods/web-1/attach",
            Some("stdin=true"),
            Kind::Write,
            &[PodExec],
        ),
        (
            "POST",
            "/api/v1/namespaces/prod/pods/web-1/attach",
            None,
            Kind::Write,
            &[Write, PodExec],
        ),
        (
            "GET",
            "/api/v1/namespaces/prod/pods/web-1/portforward",
            Some("ports=5432"),
            Kind::Write,
            &[PodExec],
        ),
        (
            "POST",
            "/api/v1/namespaces/prod/pods/web-1/portforward",
            None,
            Kind::Write,
            &[Write, PodExec],
        ),
        (
            "PATCH",
            "/api/v1/namespaces/prod/pods/web-1/ephemeralcontainers",
            None,
            Kind::Write,
            &[Write, PodExec],
        ),
        (
            "GET",
            "/api/v1/nodes/node-1/proxy/run/prod/web-1/app",
            None,
            Kind::Read,
            &[PodExec],
        ),
        (
            "GET",
            "/api/v1/namespaces/prod/pods/web-1/log",
            None,
            Kind::Read,
            &[],
        ),
        (
            "GET",
            "/api/v1/namespaces/prod/secrets/db",
            None,
            Kind::Read,
            &[SecretRead],
        ),
        (
            "GET",
            "/api/v1/namespaces/prod/secrets",
            None,
            Kind::Read,
            &[SecretRead],
        ),
        ("GET", "/api/v1/secrets", None, Kind::Read, &[SecretRead]),
        (
            "GET",
            "/api/v1/secrets",
            Some("watch=true"),
            Kind::Read,
            &[SecretRead],
        ),
        (
            "GET",
            "/api/v1/namespaces/prod/secrets",
            Some("watch=1&resourceVersion=10"),
            Kind::Read,
            &[SecretRead],
        ),
        ("GET", "/api/v1/watch/secrets", None, Kind::Read, &[SecretRead]),
        (
            "GET",
            "/api/v1/watch/namespaces/prod/secrets/db",
            None,
            Kind::Read,
            &[SecretRead],
        ),
        (
            "HEAD",
            "/api/v1/namespaces/prod/secrets/db",
            None,
            Kind::Read,
            &[SecretRead],
        ),
        (
            "POST",
            "/api/v1/namespaces/prod/secrets",
            None,
            Kind::Write,
            &[Write],
        ),
        (
            "DELETE",
            "/api/v1/namespaces/prod/secrets/db",
            None,
            Kind::Write,
            &[Write],
        ),
        (
            "GET",
            "/api/v1/namespaces/prod/configmaps/app",
            None,
            Kind::Read,
            &[],
        ),
        (
            "GET",
            "/apis/apps/v1/namespaces/prod/deployments",
            None,
            Kind::Read,
            &[],
        ),
        (
            "GET",
            "/apis/apps/v1/deployments",
            Some("watch=true"),
            Kind::Read,
            &[],
        ),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/prod/deployments/web",
            None,
            Kind::Write,
            &[Write],
        ),
        (
            "PUT",
            "/apis/apps/v1/namespaces/prod/deployments/web/scale",
            None,
            Kind::Write,
            &[Write],
        ),
        (
            "POST",
            "/apis/batch/v1/namespaces/prod/jobs",
            None,
            Kind::Write,
            &[Write],
        ),
        (
            "DELETE",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin",
            None,
            Kind::Write,
            &[Write],
        ),
        (
            "GET",
            "/apis/example.com/v1/namespaces/x/secrets",
            None,
            Kind::Read,
            &[],
        ),
        ("GET", "/api", None, Kind::Read, &[]),
        ("GET", "/api/v1", None, Kind::Read, &[]),
        ("GET", "/apis", None, Kind::Read, &[]),
        ("GET", "/apis/apps/v1", None, Kind::Read, &[]),
        ("GET", "/version", None, Kind::Read, &[]),
        ("GET", "/healthz", None, Kind::Read, &[]),
        ("POST", "/version", None, Kind::Opaque, &[Opaque]),
        ("GET", "/foo/bar", None, Kind::Opaque, &[Opaque]),
        ("GET", "/api/v2/pods", None, Kind::Opaque, &[Opaque]),
        (
            "GET",
            "/api/v1/namespaces/../secrets",
            None,
            Kind::Read,
            &[SecretRead],
        ),
        (
            "GET",
            "/api/v1/namespaces/prod/%73ecrets",
            None,
            Kind::Read,
            &[SecretRead],
        ),
        ("GET", "//api/v1/secrets", None, Kind::Read, &[SecretRead]),
        (
            "GET",
            "/api/v1/namespaces/prod/../prod/secrets",
            None,
            Kind::Read,
            &[SecretRead],
        ),
        (
            "GET",
            "/api/v1/namespaces/prod/secrets/a%5Cb",
            None,
            Kind::Opaque,
            &[Opaque],
        ),
        (
            "GET",
            "/api/v1/namespaces/prod/pods/a/b/c",
            None,
            Kind::Opaque,
            &[Opaque],
        ),
        (
            "TRACE",
            "/api/v1/namespaces/prod/pods",
            None,
            Kind::Opaque,
            &[Opaque],
        ),
    ];
    let mut failures = Vec::new();
    for (method, path, query, kind, expected) in cases {
        let req = request(method, path, *query);
        let classified = classify(&req);
        let got = categories(&req);
        let want: HashSet<Category> = expected.iter().copied().collect();
        let got_kind = classified.items[0].kind;
        if got != want || got_kind != *kind {
            failures.push(format!("{method} {path} {query:?}\n    expected {kind:?} {want:?}\n    got      {got_kind:?} {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn exec_reports_the_command_and_the_target_objects() {
    let req = request(
        "POST",
        "/api/v1/namespaces/prod/pods/web-1/exec",
        Some("container=app&command=cat&command=%2Fetc%2Fpasswd"),
    );
    let item = &classify(&req).items[0];
    let exec = item
        .findings
        .iter()
        .find(|finding| finding.category == PodExec)
        .unwrap();
    assert_eq!(exec.detail, "exec into pod web-1: cat /etc/passwd");
    assert_eq!(item.tag, "create pods/exec");
    let names: Vec<&str> = item.objects.iter().map(|object| object.name.as_str()).collect();
    assert_eq!(names, vec!["prod", "prod/pods/web-1"]);
}

#[test]
fn tags_name_the_verb_and_resource() {
    let tag = |method, path, query| classify(&request(method, path, query)).items[0].tag.clone();
    assert_eq!(tag("DELETE", "/api/v1/namespaces/x", None), "delete namespaces");
    assert_eq!(
        tag("DELETE", "/api/v1/namespaces", None),
        "deletecollection namespaces"
    );
    assert_eq!(tag("GET", "/api/v1/secrets", None), "list secrets");
    assert_eq!(tag("GET", "/api/v1/secrets", Some("watch=true")), "watch secrets");
    assert_eq!(
        tag("GET", "/apis/apps/v1/namespaces/a/deployments/d", None),
        "get deployments"
    );
    assert_eq!(
        tag("PATCH", "/apis/apps/v1/namespaces/a/deployments/d/scale", None),
        "patch deployments/scale"
    );
}

proptest! {
    #[test]
    fn arbitrary_requests_never_panic(method in "[A-Za-z]{0,8}", path in "(/[a-z0-9.%-]{0,12}){0,8}/?", query in proptest::option::of("[a-z=&%0-9A-F+]{0,40}"), body in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64))) {
        let req = K8sRequest { method: &method, path: &path, query: query.as_deref(), body: body.as_deref() };
        let classified = classify(&req);
        prop_assert_eq!(classified.items.len(), 1);
        for finding in &classified.items[0].findings {
            prop_assert!(path.get(finding.span.clone()).is_some());
        }
    }

    #[test]
    fn arbitrary_text_paths_never_panic(method in any::<String>(), path in any::<String>(), query in any::<String>()) {
        let req = K8sRequest { method: &method, path: &path, query: Some(&query), body: None };
        prop_assert_eq!(classify(&req).items.len(), 1);
    }
}
