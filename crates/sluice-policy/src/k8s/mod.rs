//! Kubernetes API request classification (method, path, query, body), for the Kubernetes API proxy.
//!
//! What it sees: the REST path shapes of the core group (`/api/v1/...`) and named groups
//! (`/apis/GROUP/VERSION/...`), namespaced and cluster-scoped, collections and named objects, subresources, the
//! legacy `/api/v1/watch/...` prefix, `watch=true`, and the `command=` parameters of exec. It decides from the path
//! and method alone, as the API server's authorizer does: the body is not needed for any category here.
//!
//! What it cannot see: aggregated APIs that proxy to other servers (`/apis/metrics.k8s.io/...` are classified by
//! shape like any group), the effect of admission webhooks, and what a pod does once exec'd beyond the command it
//! was started with (an interactive shell's later keystrokes travel inside the upgraded stream). Paths that are not
//! REST resource paths (other than discovery and health endpoints) are Opaque.

use std::ops::Range;

use crate::facts::{Access, Category, Classified, Finding, Item, Kind, ObjectKind, ObjectRef, Source};

/// One API request as the proxy sees it.
#[derive(Clone, Copy, Debug)]
pub struct K8sRequest<'a> {
    /// HTTP method, any case.
    pub method: &'a str,
    /// Request path without the query string.
    pub path: &'a str,
    /// Raw query string, without `?`.
    pub query: Option<&'a str>,
    /// Request body, if any.
    pub body: Option<&'a [u8]>,
}

/// A parsed resource path.
#[derive(Debug, Default, PartialEq, Eq)]
struct ResourcePath<'a> {
    group: &'a str,
    namespace: Option<&'a str>,
    resource: &'a str,
    name: Option<&'a str>,
    subresource: Option<&'a str>,
    /// The legacy `/watch/` path prefix.
    watch: bool,
}

/// Classifies one request. Spans point into `path` (the request line's path).
pub fn classify(req: &K8sRequest<'_>) -> Classified {
    let method = req.method.to_ascii_uppercase();
    let full = 0..req.path.len();
    let canonical = canonical_path(req.path);
    let parsed = match &canonical {
        Ok(path) => parse_path(path),
        Err(reason) => Err(reason.clone()),
    };
    let item = match parsed {
        Ok(Some(path)) => resource_item(req, &method, &path),
        Ok(None) => {
            let kind = if method == "GET" || method == "HEAD" {
                Kind::Read
            } else {
                Kind::Opaque
            };
            let mut item = new_item(
                full.clone(),
                kind,
                format!("{} {}", method.to_ascii_lowercase(), "discovery"),
            );
            if kind == Kind::Opaque {
                add(
                    &mut item,
                    Category::Opaque,
                    full,
                    format!("{method} to a non-resource path {}", req.path),
                );
            }
            item
        }
        Err(reason) => {
            let mut item = new_item(
                full.clone(),
                Kind::Opaque,
                format!("{} unknown", method.to_ascii_lowercase()),
            );
            add(&mut item, Category::Opaque, full, reason);
            item
        }
    };
    Classified {
        source: Source::Kubernetes,
        items: vec![item],
    }
}

/// `Ok(None)` for discovery and health endpoints (`/api`, `/apis/apps/v1`, `/version`, `/healthz`, `/openapi/v2`).
/// The path as the API server routes it: percent-escapes decoded, empty and `.` segments dropped, `..` applied.
/// Classifying the raw text instead would let `secret%73` or `/namespaces/x/../x/secrets` pass as something else.
fn canonical_path(path: &str) -> Result<String, String> {
    let decoded = percent_decode(&path.replace('+', "%2B"));
    if decoded.contains('%') || decoded.contains('\\') || decoded.chars().any(char::is_control) {
        return Err(format!("the path {path} is not a plain resource path"));
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    Ok(format!("/{}", segments.join("/")))
}

fn parse_path(path: &str) -> Result<Option<ResourcePath<'_>>, String> {
    let segments: Vec<&str> = path
        .trim_start_matches('/')
        .trim_end_matches('/')
        .split('/')
        .collect();
    let (group, rest) = match segments.as_slice() {
        ["api"] | ["api", _] | ["apis"] | ["apis", _] | ["apis", _, _] => return Ok(None),
        ["version" | "healthz" | "livez" | "readyz" | "metrics" | "openapi" | ".well-known", ..] => {
            return Ok(None)
        }
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return Err(format!("{path} is not a Kubernetes API path")),
    };
    let (watch, rest) = match rest {
        ["watch", rest @ ..] => (true, rest),
        _ => (false, rest),
    };
    let parsed = match rest {
        ["namespaces", namespace, resource, more @ ..] => {
            let (name, subresource) = name_and_subresource(more)?;
            ResourcePath {
                group,
                namespace: Some(namespace),
                resource,
                name,
                subresource,
                watch,
            }
        }
        [resource, more @ ..] => {
            let (name, subresource) = name_and_subresource(more)?;
            ResourcePath {
                group,
                namespace: None,
                resource,
                name,
                subresource,
                watch,
            }
        }
        [] => return Ok(None),
    };
    if parsed.resource.is_empty() || parsed.name == Some("") {
        return Err(format!("{path} has an empty segment"));
    }
    Ok(Some(parsed))
}

fn name_and_subresource<'a>(more: &[&'a str]) -> Result<(Option<&'a str>, Option<&'a str>), String> {
    match more {
        [] => Ok((None, None)),
        [name] => Ok((Some(name), None)),
        [name, subresource] => Ok((Some(name), Some(subresource))),
        // `pods/NAME/proxy/any/path`: everything after proxy belongs to the proxied service.
        [name, "proxy", ..] => Ok((Some(name), Some("proxy"))),
        _ => Err("too many path segments for a resource".to_owned()),
    }
}

fn query_params(query: Option<&str>) -> impl Iterator<Item = (&str, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key, percent_decode(value))
        })
}

/// Decodes `%XX` and `+` in a query value; invalid escapes are kept as written.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut at = 0usize;
    while let Some(byte) = bytes.get(at).copied() {
        let hex = bytes
            .get(at.saturating_add(1)..at.saturating_add(3))
            .and_then(|pair| std::str::from_utf8(pair).ok());
        match (byte, hex.and_then(|hex| u8::from_str_radix(hex, 16).ok())) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                at = at.saturating_add(3);
            }
            (b'+', _) => {
                out.push(b' ');
                at = at.saturating_add(1);
            }
            _ => {
                out.push(byte);
                at = at.saturating_add(1);
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The Kubernetes verb for a method on a path (as the API server's request-info resolver derives it).
fn verb(method: &str, path: &ResourcePath<'_>, watch_param: bool) -> &'static str {
    match (method, path.name.is_some()) {
        ("GET" | "HEAD", _) if path.watch || watch_param => "watch",
        ("GET" | "HEAD", true) => "get",
        ("GET" | "HEAD", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

fn resource_item(req: &K8sRequest<'_>, method: &str, path: &ResourcePath<'_>) -> Item {
    let span = 0..req.path.len();
    let watch_param =
        query_params(req.query).any(|(key, value)| key == "watch" && matches!(value.as_str(), "true" | "1"));
    let verb = verb(method, path, watch_param);
    let resource = match path.subresource {
        Some(sub) => format!("{}/{sub}", path.resource),
        None => path.resource.to_owned(),
    };
    let kind = match verb {
        "get" | "list" | "watch" => Kind::Read,
        "unknown" => Kind::Opaque,
        _ => Kind::Write,
    };
    let mut item = new_item(span.clone(), kind, format!("{verb} {resource}"));
    let qualified = if path.group.is_empty() {
        path.resource.to_owned()
    } else {
        format!("{}.{}", path.resource, path.group)
    };
    if let Some(namespace) = path.namespace {
        push_object(
            &mut item,
            ObjectKind::Namespace,
            namespace.to_owned(),
            Access::Read,
        );
    }
    let object_name = match path.name {
        Some(name) => format!(
            "{}{qualified}/{name}",
            path.namespace.map(|ns| format!("{ns}/")).unwrap_or_default()
        ),
        None => format!(
            "{}{qualified}",
            path.namespace.map(|ns| format!("{ns}/")).unwrap_or_default()
        ),
    };
    let access = if kind == Kind::Read {
        Access::Read
    } else {
        Access::Write
    };
    push_object(&mut item, ObjectKind::Resource, object_name.clone(), access);
    if kind == Kind::Opaque {
        add(
            &mut item,
            Category::Opaque,
            span.clone(),
            format!("{method} is not a Kubernetes API method"),
        );
        return item;
    }
    if kind == Kind::Write {
        add(
            &mut item,
            Category::Write,
            span.clone(),
            format!("{verb} {object_name}"),
        );
    }
    let core_or_named = |expected: &str| path.group.is_empty() && path.resource == expected;
    if core_or_named("namespaces")
        && path.subresource.is_none()
        && matches!(verb, "delete" | "deletecollection")
    {
        let target = path.name.unwrap_or("every namespace matching the request");
        if let Some(name) = path.name {
            push_object(&mut item, ObjectKind::Namespace, name.to_owned(), Access::Write);
        }
        add(
            &mut item,
            Category::DeleteNamespace,
            span.clone(),
            format!("deletes namespace {target}"),
        );
    }
    if core_or_named("pods") && matches!(path.subresource, Some("exec" | "attach" | "portforward")) {
        exec_facts(req, path, &mut item);
    }
    // The kubelet API behind `nodes/proxy` runs commands in any pod on the node; ephemeral containers are how
    // `kubectl debug` gets a shell into a running pod.
    let node_proxy = core_or_named("nodes") && path.subresource == Some("proxy");
    let debug =
        core_or_named("pods") && path.subresource == Some("ephemeralcontainers") && kind == Kind::Write;
    if node_proxy || debug {
        let what = if node_proxy {
            "the node's kubelet API can run commands in any of its pods"
        } else {
            "adds a debug container to a running pod"
        };
        add(&mut item, Category::PodExec, span.clone(), what.to_owned());
    }
    if core_or_named("secrets") && path.subresource.is_none() && matches!(verb, "get" | "list" | "watch") {
        let scope = match (path.namespace, path.name) {
            (_, Some(name)) => format!("secret {name}"),
            (Some(namespace), None) => format!("all secrets in {namespace}"),
            (None, None) => "secrets across all namespaces".to_owned(),
        };
        add(
            &mut item,
            Category::SecretRead,
            span,
            format!("{verb} reads {scope}"),
        );
    }
    item
}

fn exec_facts(req: &K8sRequest<'_>, path: &ResourcePath<'_>, item: &mut Item) {
    let span = 0..req.path.len();
    let sub = path.subresource.unwrap_or("exec");
    let pod = path.name.unwrap_or("");
    item.kind = Kind::Write;
    let argv: Vec<String> = query_params(req.query)
        .filter(|(key, _)| *key == "command")
        .map(|(_, value)| value)
        .collect();
    let detail = if argv.is_empty() {
        format!("{sub} into pod {pod}")
    } else {
        format!("{sub} into pod {pod}: {}", argv.join(" "))
    };
    add(item, Category::PodExec, span.clone(), detail);
    if argv.is_empty() {
        return;
    }
    let line = argv
        .iter()
        .map(|arg| format!("'{}'", arg.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ");
    for inner in crate::shell::classify(&line).items {
        // What runs inside the pod is what the PodExec rule is about: an interactive `sh` is the normal use of exec,
        // not an unknown. Concrete dangers the command shows (`rm -rf /`) are still reported.
        for finding in inner
            .findings
            .into_iter()
            .filter(|finding| finding.category != Category::Opaque)
        {
            add(
                item,
                finding.category,
                span.clone(),
                format!("exec command: {}", finding.detail),
            );
        }
    }
}

fn new_item(span: Range<usize>, kind: Kind, tag: String) -> Item {
    Item {
        index: 0,
        span,
        kind,
        tag,
        objects: Vec::new(),
        findings: Vec::new(),
    }
}

fn add(item: &mut Item, category: Category, span: Range<usize>, detail: String) {
    if !item
        .findings
        .iter()
        .any(|found| found.category == category && found.detail == detail)
    {
        item.findings.push(Finding {
            category,
            span,
            detail,
        });
    }
}

fn push_object(item: &mut Item, kind: ObjectKind, name: String, access: Access) {
    let object = ObjectRef { kind, name, access };
    if !item.objects.contains(&object) {
        item.objects.push(object);
    }
}
