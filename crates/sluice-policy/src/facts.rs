//! Dialect-independent facts that classifiers extract from a request.
//!
//! Every classifier (PostgreSQL SQL, MySQL SQL, shell command lines, Kubernetes API requests) produces the same
//! shape, so guardrail rules are written once and apply to every protocol. A classifier reports *what a request
//! does*; it never decides. Anything it cannot understand is reported as a [`Category::Opaque`] finding, never
//! silently passed.

use serde::{Deserialize, Serialize};
use std::ops::Range;

/// A byte range into the original request text (statement string, command line, request path/body).
pub type Span = Range<usize>;

/// Where a request came from, which tells rules how to read the facts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// SQL for PostgreSQL, parsed with the server's own parser.
    Postgres,
    /// SQL for MySQL / MariaDB.
    Mysql,
    /// A POSIX shell command line (SSH exec, typed terminal line, Kubernetes exec command).
    Shell,
    /// A Kubernetes API request (method, path, body).
    Kubernetes,
}

/// The classification of one request: one [`Item`] per statement (SQL), per simple command (shell), or one for the
/// whole request (Kubernetes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classified {
    /// Which classifier produced this.
    pub source: Source,
    /// Statements or commands in the order they appear.
    pub items: Vec<Item>,
}

/// One statement or command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// 0-based position in the request (statement index in a multi-statement string, command index in a pipeline
    /// or list).
    pub index: usize,
    /// The statement or command's own text in the request.
    pub span: Span,
    /// What kind of thing it is, coarsely.
    pub kind: Kind,
    /// A normalised tag naming the statement or command: for SQL the PostgreSQL-style command tag in upper case
    /// (`SELECT`, `DROP TABLE`, `ALTER TABLE`, `CREATE FUNCTION`, ...), for shell the program name (`rm`, `kubectl`),
    /// for Kubernetes `VERB resource` (`delete namespaces`). Custom rules match on it.
    pub tag: String,
    /// Objects it touches, as written (schema-qualified where the text qualifies them), lower-cased where the dialect
    /// folds unquoted identifiers.
    pub objects: Vec<ObjectRef>,
    /// Everything noteworthy about it that a guardrail may act on.
    pub findings: Vec<Finding>,
}

/// Coarse statement kinds, used by read-only and "any DDL"/"any write" rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Reads data only (SELECT without writes, SHOW, EXPLAIN without ANALYZE of a write, `ls`, `get pods`).
    Read,
    /// Writes data (INSERT/UPDATE/DELETE/MERGE/COPY FROM, a data-modifying CTE, a shell command that writes).
    Write,
    /// Changes schema (CREATE/ALTER/DROP/TRUNCATE, ...).
    Ddl,
    /// Changes privileges or roles (GRANT, REVOKE, CREATE/ALTER/DROP ROLE/USER, SET ROLE).
    Privilege,
    /// Transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT).
    Transaction,
    /// Session settings that change no data (SET, RESET, DISCARD, USE).
    Session,
    /// Something the classifier could not understand; always accompanied by a [`Category::Opaque`] finding.
    Opaque,
}

/// A database object, file path or API resource a request touches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// What sort of object.
    pub kind: ObjectKind,
    /// Its name as written, qualified if qualified (`public.users`, `/etc/passwd`, `kube-system`).
    pub name: String,
    /// How the request uses it.
    pub access: Access,
}

/// Sorts of objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Table,
    View,
    Schema,
    Database,
    Column,
    Index,
    Sequence,
    Function,
    Type,
    Role,
    Path,
    Namespace,
    Resource,
    Other,
}

/// How an object is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Read,
    Write,
    Ddl,
}

/// Something a guardrail may act on, with where it is in the text and a human explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What was found.
    pub category: Category,
    /// The offending part of the text (may be narrower than the item's span).
    pub span: Span,
    /// One line for a human: "DROP TABLE public.users", "DELETE FROM orders has no WHERE clause".
    pub detail: String,
}

/// The closed set of things guardrails act on. Built-in rules map to one or more of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// DROP of a table, view, schema, database, type, domain, DROP OWNED, ... (any object removal).
    DropObject,
    /// TRUNCATE.
    Truncate,
    /// DELETE without a WHERE (or with USING but no join condition, or only LIMIT).
    DeleteWithoutWhere,
    /// UPDATE without a WHERE.
    UpdateWithoutWhere,
    /// A WHERE that is always true on its own (`WHERE true`, `WHERE 1=1`).
    TautologicalWhere,
    /// ALTER TABLE ... DROP COLUMN.
    DropColumn,
    /// Any schema change.
    Ddl,
    /// Any data write.
    Write,
    /// Runs a program on the target (`COPY ... PROGRAM`, `\!`, `system`, shell escapes).
    ProgramExecution,
    /// GRANT/REVOKE/role and user changes, SET ROLE/SESSION AUTHORIZATION.
    PrivilegeChange,
    /// Destructive shell command: `rm -rf` of `/`, `/*`, `~` or system directories, `mkfs`, `dd of=/dev/..`,
    /// `shutdown`/`reboot`, `drop database` through a CLI client.
    DestructiveCommand,
    /// Kubernetes: deleting a namespace (API or `kubectl delete ns`).
    DeleteNamespace,
    /// Kubernetes: exec or attach into a pod.
    PodExec,
    /// Kubernetes: reading secrets.
    SecretRead,
    /// A call to a function that is not known to be free of side effects. Only read-only rules act on it: under a
    /// read-only rule it is handled like [`Category::Opaque`], because a user-defined function may write.
    UnknownFunction,
    /// The classifier could not tell what this does: parse failure, dynamic SQL (`EXECUTE`, `PREPARE ... FROM @v`),
    /// `DO` blocks, functions not known to be read-only, `sh -c`, `eval`, `$(...)`, decoded payloads piped to a shell.
    Opaque,
}

impl Classified {
    /// Whether any item carries a finding of `category`.
    pub fn has(&self, category: Category) -> bool {
        self.items.iter().any(|item| item.has(category))
    }
}

impl Item {
    /// Whether this item carries a finding of `category`.
    pub fn has(&self, category: Category) -> bool {
        self.findings.iter().any(|finding| finding.category == category)
    }
}

impl Category {
    /// The snake_case name used in policy files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::DropObject => "drop_object",
            Category::Truncate => "truncate",
            Category::DeleteWithoutWhere => "delete_without_where",
            Category::UpdateWithoutWhere => "update_without_where",
            Category::TautologicalWhere => "tautological_where",
            Category::DropColumn => "drop_column",
            Category::Ddl => "ddl",
            Category::Write => "write",
            Category::ProgramExecution => "program_execution",
            Category::PrivilegeChange => "privilege_change",
            Category::DestructiveCommand => "destructive_command",
            Category::DeleteNamespace => "delete_namespace",
            Category::PodExec => "pod_exec",
            Category::SecretRead => "secret_read",
            Category::UnknownFunction => "unknown_function",
            Category::Opaque => "opaque",
        }
    }
}
