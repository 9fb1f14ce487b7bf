//! `kubectl` (and `oc`) command lines: deleting namespaces, exec/attach into pods, reading secrets.
//!
//! Global flags may sit anywhere (`kubectl -n prod delete ns x`), so the verb is the first operand that is a known
//! verb, with the values of flags that take one skipped.

use super::lexer::Command;
use super::lexer::Word;
use super::{add, object, quote_argv, Ctx};
use crate::facts::{Access, Category, Item, Kind, ObjectKind};

/// Flags that take a value in the next word (unless written `--flag=value`).
const VALUE_FLAGS: &[&str] = &[
    "-n",
    "--namespace",
    "-l",
    "--selector",
    "-o",
    "--output",
    "-c",
    "--container",
    "-f",
    "--filename",
    "--context",
    "--cluster",
    "--kubeconfig",
    "--user",
    "-s",
    "--server",
    "--field-selector",
    "--sort-by",
    "--template",
    "-p",
    "--patch",
    "--type",
    "--timeout",
    "--grace-period",
    "--as",
    "--as-group",
    "--token",
    "--image",
    "-i",
    "--request-timeout",
];

const VERBS: &[&str] = &[
    "get",
    "describe",
    "logs",
    "top",
    "explain",
    "api-resources",
    "api-versions",
    "version",
    "cluster-info",
    "config",
    "auth",
    "delete",
    "exec",
    "attach",
    "debug",
    "port-forward",
    "cp",
    "apply",
    "create",
    "replace",
    "patch",
    "edit",
    "scale",
    "rollout",
    "label",
    "annotate",
    "expose",
    "run",
    "set",
    "drain",
    "cordon",
    "uncordon",
    "taint",
    "proxy",
    "wait",
    "diff",
    "kustomize",
    "autoscale",
    "certificate",
];

const READ_VERBS: &[&str] = &[
    "get",
    "describe",
    "logs",
    "top",
    "explain",
    "api-resources",
    "api-versions",
    "version",
    "cluster-info",
    "auth",
    "wait",
    "diff",
    "kustomize",
];

/// Classifies a kubectl invocation.
pub(crate) fn kubectl(ctx: &Ctx<'_>, name: &str, args: &[Word], command: &Command, item: &mut Item) {
    let dash_dash = args.iter().position(|arg| arg.text == "--");
    let before = args.get(..dash_dash.unwrap_or(args.len())).unwrap_or(&[]);
    let mut operands: Vec<&Word> = Vec::new();
    let mut at = 0usize;
    while let Some(arg) = before.get(at) {
        at = at.saturating_add(1);
        if arg.text.starts_with('-') {
            if VALUE_FLAGS.contains(&arg.text.as_str()) {
                at = at.saturating_add(1);
            }
            continue;
        }
        operands.push(arg);
    }
    let verb_at = operands
        .iter()
        .position(|word| VERBS.contains(&word.text.as_str()))
        .unwrap_or(0);
    let verb = operands.get(verb_at).map_or("", |word| word.text.as_str());
    let resources: Vec<&Word> = operands.iter().skip(verb_at.saturating_add(1)).copied().collect();
    item.tag = format!("{name} {verb}").trim_end().to_owned();
    let span = command.span.clone();
    match verb {
        "delete" => {
            let mut kinds = resources
                .first()
                .map(|word| word.text.to_ascii_lowercase())
                .unwrap_or_default();
            if let Some((kind, _)) = kinds.clone().split_once('/') {
                kinds = kind.to_owned();
            }
            // An OpenShift project is a namespace with metadata: deleting one deletes the namespace.
            if kinds
                .split(',')
                .any(|kind| matches!(kind, "ns" | "namespace" | "namespaces" | "project" | "projects"))
            {
                let names: Vec<String> = resources.iter().map(|word| word.text.clone()).collect();
                for word in resources.iter().skip(1) {
                    object(item, ObjectKind::Namespace, word.text.clone(), Access::Write);
                }
                add(
                    item,
                    Category::DeleteNamespace,
                    span.clone(),
                    format!("{name} delete {}", names.join(" ")),
                );
            }
        }
        "exec" | "attach" | "debug" | "port-forward" | "cp" => {
            add(
                item,
                Category::PodExec,
                span.clone(),
                format!("{name} {verb} runs inside a pod"),
            );
            if let Some(after) = dash_dash.map(|at| args.get(at.saturating_add(1)..).unwrap_or(&[])) {
                if !after.is_empty() {
                    let argv: Vec<String> = after.iter().map(|word| word.text.clone()).collect();
                    let start = after.first().map_or(span.start, |word| word.span.start);
                    let end = after.last().map_or(span.end, |word| word.span.end);
                    ctx.nested_in_pod(&quote_argv(&argv), start..end, item);
                }
            }
        }
        _ if READ_VERBS.contains(&verb)
            || (verb == "config"
                && resources.first().is_some_and(|word| {
                    matches!(
                        word.text.as_str(),
                        "view" | "get-contexts" | "current-context" | "get-clusters"
                    )
                })) =>
        {
            item.kind = Kind::Read;
        }
        _ => {}
    }
    if matches!(verb, "get" | "describe" | "edit") {
        let reads_secrets = resources.iter().any(|word| {
            word.text.to_ascii_lowercase().split(',').any(|kind| {
                let kind = kind.split('/').next().unwrap_or("");
                matches!(kind, "secret" | "secrets" | "secret.v1" | "secrets.v1")
            })
        });
        if reads_secrets {
            add(
                item,
                Category::SecretRead,
                span,
                format!("{name} {verb} reads secrets"),
            );
        }
    }
}
