//! Classification of PostgreSQL utility statements: DDL, privileges, session and transaction control, maintenance.
//!
//! Every statement type the grammar can produce at top level is named here, so a new one shows up as `Opaque`
//! (the catch-all at the end) rather than as an innocent read.

use super::names::{self, object_type};
use super::statement::{Analysis, Walk};
use crate::facts::{Access, Category, Kind, ObjectKind};
use pg_query::protobuf::{self, AlterTableType, DropBehavior, ObjectType, VariableSetKind};
use pg_query::NodeEnum;

/// Settings whose value is a program or library the server will run or load.
const CODE_SETTINGS: &[&str] = &[
    "archive_command",
    "archive_library",
    "restore_command",
    "archive_cleanup_command",
    "recovery_end_command",
    "ssl_passphrase_command",
    "shared_preload_libraries",
    "local_preload_libraries",
    "session_preload_libraries",
    "dynamic_library_path",
    "jit_provider",
];

/// The lock mode every SELECT takes (`AccessShareLock` in `lockdefs.h`).
const ACCESS_SHARE_LOCK: i32 = 1;

/// Whether setting `name` is an ordinary session setting: not who the session acts as (`role`,
/// `session_authorization`) and not one that makes the server load or run code.
pub(super) fn plain_setting(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    !matches!(name.as_str(), "role" | "session_authorization") && !CODE_SETTINGS.contains(&name.as_str())
}

/// Procedural languages that are not sandboxed: a function in them can run programs as the server's OS user.
const UNTRUSTED_LANGUAGES: &[&str] = &[
    "c",
    "internal",
    "plpythonu",
    "plpython2u",
    "plpython3u",
    "plperlu",
    "pltclu",
    "plsh",
];

/// Classifies a utility statement, returning its command tag and kind.
pub(super) fn classify(a: &mut Analysis<'_>, node: &NodeEnum) -> (String, Kind) {
    match node {
        NodeEnum::DropStmt(drop) => drop_stmt(a, drop),
        NodeEnum::TruncateStmt(truncate) => {
            for relation in &truncate.relations {
                let table = names::object_name(relation);
                a.object(ObjectKind::Table, table.clone(), Access::Ddl);
                a.flag(
                    Category::Truncate,
                    format!("TRUNCATE {table}{}", cascade(truncate.behavior)),
                );
            }
            ("TRUNCATE TABLE".to_owned(), Kind::Ddl)
        }
        NodeEnum::DropdbStmt(drop) => {
            a.object(ObjectKind::Database, drop.dbname.clone(), Access::Ddl);
            a.flag(Category::DropObject, format!("DROP DATABASE {}", drop.dbname));
            a.flag(Category::Ddl, format!("DROP DATABASE {}", drop.dbname));
            ("DROP DATABASE".to_owned(), Kind::Ddl)
        }
        NodeEnum::DropOwnedStmt(drop) => {
            let roles = role_list(&drop.roles);
            a.flag(
                Category::DropObject,
                format!("DROP OWNED BY {roles} drops every object they own"),
            );
            a.flag(Category::Ddl, format!("DROP OWNED BY {roles}"));
            ("DROP OWNED".to_owned(), Kind::Ddl)
        }
        NodeEnum::DropTableSpaceStmt(drop) => {
            dropped(a, "TABLESPACE", ObjectKind::Other, &drop.tablespacename)
        }
        NodeEnum::DropSubscriptionStmt(drop) => dropped(a, "SUBSCRIPTION", ObjectKind::Other, &drop.subname),
        NodeEnum::DropUserMappingStmt(_) => dropped(a, "USER MAPPING", ObjectKind::Other, ""),
        NodeEnum::AlterTableStmt(alter) => alter_table(a, alter),
        NodeEnum::AlterSystemStmt(alter) => {
            let name = alter
                .setstmt
                .as_ref()
                .map(|set| set.name.clone())
                .unwrap_or_default();
            a.flag(
                Category::Ddl,
                format!("ALTER SYSTEM changes server configuration ({name})"),
            );
            if CODE_SETTINGS.contains(&name.to_ascii_lowercase().as_str()) {
                a.flag(
                    Category::ProgramExecution,
                    format!("ALTER SYSTEM SET {name} makes the server run or load code"),
                );
            }
            ("ALTER SYSTEM".to_owned(), Kind::Ddl)
        }
        NodeEnum::LoadStmt(load) => {
            a.flag(
                Category::ProgramExecution,
                format!("LOAD '{}' loads a shared library into the server", load.filename),
            );
            ("LOAD".to_owned(), Kind::Ddl)
        }
        NodeEnum::CreateFunctionStmt(function) => create_function(a, function),
        NodeEnum::VariableSetStmt(set) => variable_set(a, set),
        NodeEnum::VariableShowStmt(_) => ("SHOW".to_owned(), Kind::Read),
        NodeEnum::TransactionStmt(transaction) => {
            (transaction_tag(transaction.kind).to_owned(), Kind::Transaction)
        }
        NodeEnum::ConstraintsSetStmt(_) => ("SET CONSTRAINTS".to_owned(), Kind::Transaction),
        NodeEnum::DiscardStmt(_) => ("DISCARD".to_owned(), Kind::Session),
        NodeEnum::ListenStmt(_) => ("LISTEN".to_owned(), Kind::Session),
        NodeEnum::UnlistenStmt(_) => ("UNLISTEN".to_owned(), Kind::Session),
        NodeEnum::DeallocateStmt(_) => ("DEALLOCATE".to_owned(), Kind::Session),
        NodeEnum::ClosePortalStmt(_) => ("CLOSE CURSOR".to_owned(), Kind::Read),
        NodeEnum::FetchStmt(fetch) => (
            (if fetch.ismove { "MOVE" } else { "FETCH" }).to_owned(),
            Kind::Read,
        ),
        NodeEnum::NotifyStmt(notify) => {
            a.flag(
                Category::Write,
                format!("NOTIFY {} signals other sessions", notify.conditionname),
            );
            ("NOTIFY".to_owned(), Kind::Write)
        }
        // ACCESS SHARE is the lock every SELECT takes (pg_dump takes it explicitly): it blocks only what would
        // drop or rewrite the table, so it is a read. Every stronger mode blocks writers, as a write would.
        NodeEnum::LockStmt(lock) if lock.mode == ACCESS_SHARE_LOCK => {
            for relation in &lock.relations {
                a.object(ObjectKind::Table, names::object_name(relation), Access::Read);
            }
            ("LOCK TABLE".to_owned(), Kind::Read)
        }
        NodeEnum::LockStmt(lock) => {
            for relation in &lock.relations {
                a.object(ObjectKind::Table, names::object_name(relation), Access::Write);
            }
            a.flag(
                Category::Write,
                "LOCK TABLE blocks other sessions as a write would",
            );
            ("LOCK TABLE".to_owned(), Kind::Write)
        }
        NodeEnum::VacuumStmt(vacuum) => {
            let tag = if vacuum.is_vacuumcmd { "VACUUM" } else { "ANALYZE" };
            maintenance(a, tag)
        }
        NodeEnum::ReindexStmt(_) => maintenance(a, "REINDEX"),
        NodeEnum::ClusterStmt(_) => maintenance(a, "CLUSTER"),
        NodeEnum::CheckPointStmt(_) => maintenance(a, "CHECKPOINT"),
        NodeEnum::RefreshMatViewStmt(refresh) => {
            let view = refresh
                .relation
                .as_ref()
                .map(names::range_var)
                .unwrap_or_default();
            a.object(ObjectKind::View, view.clone(), Access::Write);
            a.flag(
                Category::Write,
                format!("REFRESH MATERIALIZED VIEW {view} rewrites its rows"),
            );
            ("REFRESH MATERIALIZED VIEW".to_owned(), Kind::Write)
        }
        NodeEnum::GrantStmt(grant) => grant_stmt(a, grant),
        NodeEnum::GrantRoleStmt(grant) => {
            let verb = if grant.is_grant { "GRANT" } else { "REVOKE" };
            let roles = role_list(&grant.granted_roles);
            a.flag(
                Category::PrivilegeChange,
                format!("{verb} role {roles} to/from {}", role_list(&grant.grantee_roles)),
            );
            (verb.to_owned(), Kind::Privilege)
        }
        NodeEnum::AlterDefaultPrivilegesStmt(_) => {
            a.flag(
                Category::PrivilegeChange,
                "ALTER DEFAULT PRIVILEGES changes grants on future objects",
            );
            ("ALTER DEFAULT PRIVILEGES".to_owned(), Kind::Privilege)
        }
        NodeEnum::CreateRoleStmt(create) => role_change(a, "CREATE ROLE", &create.role),
        NodeEnum::AlterRoleStmt(alter) => {
            let role = alter.role.as_ref().map(names::role_name).unwrap_or_default();
            role_change(a, "ALTER ROLE", &role)
        }
        NodeEnum::AlterRoleSetStmt(alter) => {
            let role = alter.role.as_ref().map(names::role_name).unwrap_or_default();
            role_change(a, "ALTER ROLE", &role)
        }
        NodeEnum::DropRoleStmt(drop) => {
            let roles = role_list(&drop.roles);
            role_change(a, "DROP ROLE", &roles)
        }
        NodeEnum::ReassignOwnedStmt(reassign) => {
            let roles = role_list(&reassign.roles);
            a.flag(
                Category::PrivilegeChange,
                format!("REASSIGN OWNED BY {roles} moves ownership"),
            );
            ("REASSIGN OWNED".to_owned(), Kind::Privilege)
        }
        NodeEnum::AlterOwnerStmt(alter) => {
            let (noun, kind) = object_type(alter.object_type);
            let name = alter
                .relation
                .as_ref()
                .map(names::range_var)
                .or_else(|| alter.object.as_deref().map(names::object_name))
                .unwrap_or_default();
            a.object(kind, name.clone(), Access::Ddl);
            a.flag(
                Category::PrivilegeChange,
                format!("ALTER {noun} {name} OWNER TO changes ownership"),
            );
            a.flag(Category::Ddl, format!("ALTER {noun} {name} OWNER TO"));
            (format!("ALTER {noun}"), Kind::Ddl)
        }
        NodeEnum::CreatePolicyStmt(policy) => {
            let table = policy.table.as_ref().map(names::range_var).unwrap_or_default();
            a.flag(
                Category::PrivilegeChange,
                format!("CREATE POLICY on {table} changes row-level security"),
            );
            ddl(a, "CREATE POLICY", ObjectKind::Table, &table)
        }
        NodeEnum::AlterPolicyStmt(policy) => {
            let table = policy.table.as_ref().map(names::range_var).unwrap_or_default();
            a.flag(
                Category::PrivilegeChange,
                format!("ALTER POLICY on {table} changes row-level security"),
            );
            ddl(a, "ALTER POLICY", ObjectKind::Table, &table)
        }
        NodeEnum::CreateSchemaStmt(schema) => {
            a.object(ObjectKind::Schema, schema.schemaname.clone(), Access::Ddl);
            a.flag(Category::Ddl, format!("CREATE SCHEMA {}", schema.schemaname));
            for element in &schema.schema_elts {
                a.statement(element, Walk::Done);
            }
            ("CREATE SCHEMA".to_owned(), Kind::Ddl)
        }
        NodeEnum::CreateStmt(create) => {
            let table = create.relation.as_ref().map(names::range_var).unwrap_or_default();
            ddl(a, "CREATE TABLE", ObjectKind::Table, &table)
        }
        NodeEnum::CreateForeignTableStmt(create) => {
            let table = create.base_stmt.as_ref().and_then(|base| base.relation.as_ref());
            ddl(
                a,
                "CREATE FOREIGN TABLE",
                ObjectKind::Table,
                &table.map(names::range_var).unwrap_or_default(),
            )
        }
        NodeEnum::ViewStmt(view) => {
            let name = view.view.as_ref().map(names::range_var).unwrap_or_default();
            ddl(a, "CREATE VIEW", ObjectKind::View, &name)
        }
        NodeEnum::IndexStmt(index) => {
            let table = index.relation.as_ref().map(names::range_var).unwrap_or_default();
            a.object(ObjectKind::Index, index.idxname.clone(), Access::Ddl);
            ddl(a, "CREATE INDEX", ObjectKind::Table, &table)
        }
        NodeEnum::CreateSeqStmt(seq) => ddl(
            a,
            "CREATE SEQUENCE",
            ObjectKind::Sequence,
            &seq.sequence.as_ref().map(names::range_var).unwrap_or_default(),
        ),
        NodeEnum::AlterSeqStmt(seq) => ddl(
            a,
            "ALTER SEQUENCE",
            ObjectKind::Sequence,
            &seq.sequence.as_ref().map(names::range_var).unwrap_or_default(),
        ),
        NodeEnum::RenameStmt(rename) => {
            let (noun, kind) = object_type(rename.rename_type);
            let name = rename
                .relation
                .as_ref()
                .map(names::range_var)
                .or_else(|| rename.object.as_deref().map(names::object_name))
                .unwrap_or_default();
            ddl(a, &format!("ALTER {noun}"), kind, &name)
        }
        NodeEnum::AlterObjectSchemaStmt(alter) => {
            let (noun, kind) = object_type(alter.object_type);
            let name = alter
                .relation
                .as_ref()
                .map(names::range_var)
                .or_else(|| alter.object.as_deref().map(names::object_name))
                .unwrap_or_default();
            ddl(a, &format!("ALTER {noun}"), kind, &name)
        }
        NodeEnum::CommentStmt(comment) => {
            let (_, kind) = object_type(comment.objtype);
            let name = comment
                .object
                .as_deref()
                .map(names::object_name)
                .unwrap_or_default();
            ddl(a, "COMMENT", kind, &name)
        }
        NodeEnum::SecLabelStmt(label) => {
            let (_, kind) = object_type(label.objtype);
            let name = label
                .object
                .as_deref()
                .map(names::object_name)
                .unwrap_or_default();
            ddl(a, "SECURITY LABEL", kind, &name)
        }
        NodeEnum::CreatedbStmt(create) => ddl(a, "CREATE DATABASE", ObjectKind::Database, &create.dbname),
        NodeEnum::AlterDatabaseStmt(alter) => ddl(a, "ALTER DATABASE", ObjectKind::Database, &alter.dbname),
        NodeEnum::AlterDatabaseSetStmt(alter) => {
            ddl(a, "ALTER DATABASE", ObjectKind::Database, &alter.dbname)
        }
        NodeEnum::AlterDatabaseRefreshCollStmt(alter) => {
            ddl(a, "ALTER DATABASE", ObjectKind::Database, &alter.dbname)
        }
        NodeEnum::CreateExtensionStmt(create) => {
            ddl(a, "CREATE EXTENSION", ObjectKind::Other, &create.extname)
        }
        NodeEnum::AlterExtensionStmt(alter) => ddl(a, "ALTER EXTENSION", ObjectKind::Other, &alter.extname),
        NodeEnum::AlterExtensionContentsStmt(alter) => {
            ddl(a, "ALTER EXTENSION", ObjectKind::Other, &alter.extname)
        }
        NodeEnum::CreatePlangStmt(language) => {
            if !language.pltrusted {
                a.flag(
                    Category::ProgramExecution,
                    format!("CREATE LANGUAGE {} is untrusted", language.plname),
                );
            }
            ddl(a, "CREATE LANGUAGE", ObjectKind::Other, &language.plname)
        }
        NodeEnum::CreateTrigStmt(trigger) => {
            let table = trigger
                .relation
                .as_ref()
                .map(names::range_var)
                .unwrap_or_default();
            ddl(a, "CREATE TRIGGER", ObjectKind::Table, &table)
        }
        NodeEnum::CreateEventTrigStmt(trigger) => {
            ddl(a, "CREATE EVENT TRIGGER", ObjectKind::Other, &trigger.trigname)
        }
        NodeEnum::AlterEventTrigStmt(trigger) => {
            ddl(a, "ALTER EVENT TRIGGER", ObjectKind::Other, &trigger.trigname)
        }
        NodeEnum::ImportForeignSchemaStmt(import) => ddl(
            a,
            "IMPORT FOREIGN SCHEMA",
            ObjectKind::Schema,
            &import.local_schema,
        ),
        NodeEnum::AlterFunctionStmt(alter) => {
            let name = alter
                .func
                .as_ref()
                .map(|func| names::dotted(&func.objname))
                .unwrap_or_default();
            ddl(a, "ALTER FUNCTION", ObjectKind::Function, &name)
        }
        NodeEnum::AlterTableMoveAllStmt(_) => ddl(a, "ALTER TABLE", ObjectKind::Table, ""),
        NodeEnum::AlterDomainStmt(alter) => ddl(
            a,
            "ALTER DOMAIN",
            ObjectKind::Type,
            &names::dotted(&alter.type_name),
        ),
        NodeEnum::AlterEnumStmt(alter) => ddl(
            a,
            "ALTER TYPE",
            ObjectKind::Type,
            &names::dotted(&alter.type_name),
        ),
        NodeEnum::AlterTypeStmt(alter) => ddl(
            a,
            "ALTER TYPE",
            ObjectKind::Type,
            &names::dotted(&alter.type_name),
        ),
        NodeEnum::CompositeTypeStmt(create) => ddl(
            a,
            "CREATE TYPE",
            ObjectKind::Type,
            &create.typevar.as_ref().map(names::range_var).unwrap_or_default(),
        ),
        NodeEnum::CreateEnumStmt(create) => ddl(
            a,
            "CREATE TYPE",
            ObjectKind::Type,
            &names::dotted(&create.type_name),
        ),
        NodeEnum::CreateRangeStmt(create) => ddl(
            a,
            "CREATE TYPE",
            ObjectKind::Type,
            &names::dotted(&create.type_name),
        ),
        NodeEnum::CreateDomainStmt(create) => ddl(
            a,
            "CREATE DOMAIN",
            ObjectKind::Type,
            &names::dotted(&create.domainname),
        ),
        NodeEnum::DefineStmt(define) => {
            let (noun, kind) = object_type(define.kind);
            ddl(
                a,
                &format!("CREATE {noun}"),
                kind,
                &names::dotted(&define.defnames),
            )
        }
        NodeEnum::CreateSubscriptionStmt(create) => {
            ddl(a, "CREATE SUBSCRIPTION", ObjectKind::Other, &create.subname)
        }
        NodeEnum::AlterSubscriptionStmt(alter) => {
            ddl(a, "ALTER SUBSCRIPTION", ObjectKind::Other, &alter.subname)
        }
        NodeEnum::CreatePublicationStmt(create) => {
            ddl(a, "CREATE PUBLICATION", ObjectKind::Other, &create.pubname)
        }
        NodeEnum::AlterPublicationStmt(alter) => {
            ddl(a, "ALTER PUBLICATION", ObjectKind::Other, &alter.pubname)
        }
        NodeEnum::CreateTableSpaceStmt(create) => {
            ddl(a, "CREATE TABLESPACE", ObjectKind::Other, &create.tablespacename)
        }
        NodeEnum::AlterTableSpaceOptionsStmt(alter) => {
            ddl(a, "ALTER TABLESPACE", ObjectKind::Other, &alter.tablespacename)
        }
        NodeEnum::CreateFdwStmt(create) => ddl(
            a,
            "CREATE FOREIGN DATA WRAPPER",
            ObjectKind::Other,
            &create.fdwname,
        ),
        NodeEnum::AlterFdwStmt(alter) => {
            ddl(a, "ALTER FOREIGN DATA WRAPPER", ObjectKind::Other, &alter.fdwname)
        }
        NodeEnum::CreateForeignServerStmt(create) => {
            ddl(a, "CREATE SERVER", ObjectKind::Other, &create.servername)
        }
        NodeEnum::AlterForeignServerStmt(alter) => {
            ddl(a, "ALTER SERVER", ObjectKind::Other, &alter.servername)
        }
        NodeEnum::CreateUserMappingStmt(create) => {
            ddl(a, "CREATE USER MAPPING", ObjectKind::Other, &create.servername)
        }
        NodeEnum::AlterUserMappingStmt(alter) => {
            ddl(a, "ALTER USER MAPPING", ObjectKind::Other, &alter.servername)
        }
        NodeEnum::CreateAmStmt(create) => ddl(a, "CREATE ACCESS METHOD", ObjectKind::Other, &create.amname),
        NodeEnum::CreateCastStmt(_) => ddl(a, "CREATE CAST", ObjectKind::Other, ""),
        NodeEnum::CreateTransformStmt(_) => ddl(a, "CREATE TRANSFORM", ObjectKind::Other, ""),
        NodeEnum::CreateConversionStmt(create) => ddl(
            a,
            "CREATE CONVERSION",
            ObjectKind::Other,
            &names::dotted(&create.conversion_name),
        ),
        NodeEnum::CreateOpClassStmt(create) => ddl(
            a,
            "CREATE OPERATOR CLASS",
            ObjectKind::Other,
            &names::dotted(&create.opclassname),
        ),
        NodeEnum::CreateOpFamilyStmt(create) => ddl(
            a,
            "CREATE OPERATOR FAMILY",
            ObjectKind::Other,
            &names::dotted(&create.opfamilyname),
        ),
        NodeEnum::AlterOpFamilyStmt(alter) => ddl(
            a,
            "ALTER OPERATOR FAMILY",
            ObjectKind::Other,
            &names::dotted(&alter.opfamilyname),
        ),
        NodeEnum::AlterOperatorStmt(_) => ddl(a, "ALTER OPERATOR", ObjectKind::Other, ""),
        NodeEnum::CreateStatsStmt(_) => ddl(a, "CREATE STATISTICS", ObjectKind::Other, ""),
        NodeEnum::AlterStatsStmt(_) => ddl(a, "ALTER STATISTICS", ObjectKind::Other, ""),
        NodeEnum::AlterCollationStmt(alter) => ddl(
            a,
            "ALTER COLLATION",
            ObjectKind::Other,
            &names::dotted(&alter.collname),
        ),
        NodeEnum::AlterTsdictionaryStmt(alter) => ddl(
            a,
            "ALTER TEXT SEARCH DICTIONARY",
            ObjectKind::Other,
            &names::dotted(&alter.dictname),
        ),
        NodeEnum::AlterTsconfigurationStmt(alter) => ddl(
            a,
            "ALTER TEXT SEARCH CONFIGURATION",
            ObjectKind::Other,
            &names::dotted(&alter.cfgname),
        ),
        NodeEnum::AlterObjectDependsStmt(_) => ddl(a, "ALTER OBJECT DEPENDS", ObjectKind::Other, ""),
        NodeEnum::ReplicaIdentityStmt(_) => ddl(a, "ALTER TABLE", ObjectKind::Table, ""),
        _ => {
            a.flag(Category::Opaque, "statement type sluice does not classify");
            ("UNKNOWN".to_owned(), Kind::Opaque)
        }
    }
}

fn ddl(a: &mut Analysis<'_>, tag: &str, kind: ObjectKind, name: &str) -> (String, Kind) {
    if !name.is_empty() {
        a.object(kind, name.to_owned(), Access::Ddl);
    }
    a.flag(
        Category::Ddl,
        if name.is_empty() {
            tag.to_owned()
        } else {
            format!("{tag} {name}")
        },
    );
    (tag.to_owned(), Kind::Ddl)
}

fn dropped(a: &mut Analysis<'_>, noun: &str, kind: ObjectKind, name: &str) -> (String, Kind) {
    let tag = format!("DROP {noun}");
    a.flag(
        Category::DropObject,
        format!("{tag} {name}").trim_end().to_owned(),
    );
    ddl(a, &tag, kind, name)
}

fn cascade(behavior: i32) -> &'static str {
    if behavior == DropBehavior::DropCascade as i32 {
        " CASCADE"
    } else {
        ""
    }
}

fn drop_stmt(a: &mut Analysis<'_>, drop: &protobuf::DropStmt) -> (String, Kind) {
    let (noun, kind) = object_type(drop.remove_type);
    let tag = format!("DROP {noun}");
    let cascade = cascade(drop.behavior);
    let mut listed = Vec::new();
    for object in &drop.objects {
        let name = names::object_name(object);
        a.object(kind, name.clone(), Access::Ddl);
        listed.push(name);
    }
    let detail = format!("{tag} {}{cascade}", listed.join(", "));
    a.flag(Category::DropObject, detail.clone());
    a.flag(Category::Ddl, detail);
    if drop.remove_type == ObjectType::ObjectRole as i32 {
        a.flag(Category::PrivilegeChange, format!("{tag} {}", listed.join(", ")));
    }
    (tag, Kind::Ddl)
}

fn alter_table(a: &mut Analysis<'_>, alter: &protobuf::AlterTableStmt) -> (String, Kind) {
    let (noun, kind) = object_type(alter.objtype);
    let table = alter.relation.as_ref().map(names::range_var).unwrap_or_default();
    a.object(kind, table.clone(), Access::Ddl);
    a.flag(Category::Ddl, format!("ALTER {noun} {table}"));
    for command in &alter.cmds {
        let Some(NodeEnum::AlterTableCmd(command)) = command.node.as_ref() else {
            continue;
        };
        match AlterTableType::try_from(command.subtype) {
            Ok(AlterTableType::AtDropColumn) => {
                a.object(
                    ObjectKind::Column,
                    format!("{table}.{}", command.name),
                    Access::Ddl,
                );
                a.flag(
                    Category::DropColumn,
                    format!(
                        "ALTER {noun} {table} DROP COLUMN {}{}",
                        command.name,
                        cascade(command.behavior)
                    ),
                );
            }
            Ok(AlterTableType::AtChangeOwner) => {
                a.flag(
                    Category::PrivilegeChange,
                    format!("ALTER {noun} {table} OWNER TO changes ownership"),
                );
            }
            Ok(
                AlterTableType::AtDisableRowSecurity
                | AlterTableType::AtNoForceRowSecurity
                | AlterTableType::AtEnableRowSecurity
                | AlterTableType::AtForceRowSecurity,
            ) => {
                a.flag(
                    Category::PrivilegeChange,
                    format!("ALTER {noun} {table} changes row-level security"),
                );
            }
            _ => {}
        }
    }
    (format!("ALTER {noun}"), Kind::Ddl)
}

fn create_function(a: &mut Analysis<'_>, function: &protobuf::CreateFunctionStmt) -> (String, Kind) {
    let noun = if function.is_procedure {
        "PROCEDURE"
    } else {
        "FUNCTION"
    };
    let name = names::dotted(&function.funcname);
    if let Some(language) = names::def_elem_text(&function.options, "language") {
        if UNTRUSTED_LANGUAGES.contains(&language.to_ascii_lowercase().as_str()) {
            a.flag(
                Category::ProgramExecution,
                format!(
                    "CREATE {noun} {name} in untrusted language {language} can run programs on the server"
                ),
            );
        }
    }
    ddl(a, &format!("CREATE {noun}"), ObjectKind::Function, &name)
}

fn variable_set(a: &mut Analysis<'_>, set: &protobuf::VariableSetStmt) -> (String, Kind) {
    let name = set.name.to_ascii_lowercase();
    let reset = matches!(
        VariableSetKind::try_from(set.kind),
        Ok(VariableSetKind::VarReset | VariableSetKind::VarResetAll)
    );
    let tag = if reset { "RESET" } else { "SET" };
    if matches!(name.as_str(), "role" | "session_authorization") {
        let what = if name == "role" {
            "ROLE"
        } else {
            "SESSION AUTHORIZATION"
        };
        a.flag(
            Category::PrivilegeChange,
            format!("{tag} {what} changes the privileges of the session"),
        );
        return (tag.to_owned(), Kind::Privilege);
    }
    (tag.to_owned(), Kind::Session)
}

fn grant_stmt(a: &mut Analysis<'_>, grant: &protobuf::GrantStmt) -> (String, Kind) {
    let verb = if grant.is_grant { "GRANT" } else { "REVOKE" };
    let (noun, kind) = object_type(grant.objtype);
    let objects: Vec<String> = grant.objects.iter().map(names::object_name).collect();
    for object in &objects {
        a.object(kind, object.clone(), Access::Ddl);
    }
    let grantees = role_list(&grant.grantees);
    a.flag(
        Category::PrivilegeChange,
        format!("{verb} on {noun} {} to/from {grantees}", objects.join(", ")),
    );
    (verb.to_owned(), Kind::Privilege)
}

fn role_change(a: &mut Analysis<'_>, tag: &str, role: &str) -> (String, Kind) {
    a.object(ObjectKind::Role, role.to_owned(), Access::Ddl);
    a.flag(Category::PrivilegeChange, format!("{tag} {role}"));
    (tag.to_owned(), Kind::Privilege)
}

fn maintenance(a: &mut Analysis<'_>, tag: &str) -> (String, Kind) {
    a.flag(Category::Write, format!("{tag} rewrites storage and takes locks"));
    (tag.to_owned(), Kind::Write)
}

fn role_list(roles: &[protobuf::Node]) -> String {
    roles
        .iter()
        .map(names::object_name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn transaction_tag(kind: i32) -> &'static str {
    use protobuf::TransactionStmtKind as T;
    match T::try_from(kind) {
        Ok(T::TransStmtBegin) => "BEGIN",
        Ok(T::TransStmtStart) => "START TRANSACTION",
        Ok(T::TransStmtCommit) => "COMMIT",
        Ok(T::TransStmtRollback) => "ROLLBACK",
        Ok(T::TransStmtSavepoint) => "SAVEPOINT",
        Ok(T::TransStmtRelease) => "RELEASE",
        Ok(T::TransStmtRollbackTo) => "ROLLBACK",
        Ok(T::TransStmtPrepare) => "PREPARE TRANSACTION",
        Ok(T::TransStmtCommitPrepared) => "COMMIT PREPARED",
        Ok(T::TransStmtRollbackPrepared) => "ROLLBACK PREPARED",
        _ => "TRANSACTION",
    }
}
