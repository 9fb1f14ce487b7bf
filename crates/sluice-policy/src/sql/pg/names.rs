//! Names as PostgreSQL reports them: object types as they appear in command tags, qualified object names from the
//! several shapes the parser uses for them (name lists, type names, functions with argument lists).

use crate::facts::ObjectKind;
use pg_query::protobuf::{self, ObjectType};
use pg_query::NodeEnum;

/// The words an object type contributes to a command tag (`DROP <words>`) and the kind of object it is.
pub(crate) fn object_type(raw: i32) -> (&'static str, ObjectKind) {
    let Ok(object_type) = ObjectType::try_from(raw) else {
        return ("OBJECT", ObjectKind::Other);
    };
    match object_type {
        ObjectType::ObjectTable => ("TABLE", ObjectKind::Table),
        ObjectType::ObjectForeignTable => ("FOREIGN TABLE", ObjectKind::Table),
        ObjectType::ObjectView => ("VIEW", ObjectKind::View),
        ObjectType::ObjectMatview => ("MATERIALIZED VIEW", ObjectKind::View),
        ObjectType::ObjectIndex => ("INDEX", ObjectKind::Index),
        ObjectType::ObjectSequence => ("SEQUENCE", ObjectKind::Sequence),
        ObjectType::ObjectSchema => ("SCHEMA", ObjectKind::Schema),
        ObjectType::ObjectDatabase => ("DATABASE", ObjectKind::Database),
        ObjectType::ObjectFunction => ("FUNCTION", ObjectKind::Function),
        ObjectType::ObjectProcedure => ("PROCEDURE", ObjectKind::Function),
        ObjectType::ObjectRoutine => ("ROUTINE", ObjectKind::Function),
        ObjectType::ObjectAggregate => ("AGGREGATE", ObjectKind::Function),
        ObjectType::ObjectType => ("TYPE", ObjectKind::Type),
        ObjectType::ObjectDomain => ("DOMAIN", ObjectKind::Type),
        ObjectType::ObjectRole => ("ROLE", ObjectKind::Role),
        ObjectType::ObjectColumn => ("COLUMN", ObjectKind::Column),
        ObjectType::ObjectExtension => ("EXTENSION", ObjectKind::Other),
        ObjectType::ObjectTrigger => ("TRIGGER", ObjectKind::Other),
        ObjectType::ObjectRule => ("RULE", ObjectKind::Other),
        ObjectType::ObjectPolicy => ("POLICY", ObjectKind::Other),
        ObjectType::ObjectPublication => ("PUBLICATION", ObjectKind::Other),
        ObjectType::ObjectSubscription => ("SUBSCRIPTION", ObjectKind::Other),
        ObjectType::ObjectEventTrigger => ("EVENT TRIGGER", ObjectKind::Other),
        ObjectType::ObjectCollation => ("COLLATION", ObjectKind::Other),
        ObjectType::ObjectConversion => ("CONVERSION", ObjectKind::Other),
        ObjectType::ObjectLanguage => ("LANGUAGE", ObjectKind::Other),
        ObjectType::ObjectForeignServer => ("SERVER", ObjectKind::Other),
        ObjectType::ObjectFdw => ("FOREIGN DATA WRAPPER", ObjectKind::Other),
        ObjectType::ObjectAccessMethod => ("ACCESS METHOD", ObjectKind::Other),
        ObjectType::ObjectCast => ("CAST", ObjectKind::Other),
        ObjectType::ObjectOperator => ("OPERATOR", ObjectKind::Other),
        ObjectType::ObjectOpclass => ("OPERATOR CLASS", ObjectKind::Other),
        ObjectType::ObjectOpfamily => ("OPERATOR FAMILY", ObjectKind::Other),
        ObjectType::ObjectStatisticExt => ("STATISTICS", ObjectKind::Other),
        ObjectType::ObjectTablespace => ("TABLESPACE", ObjectKind::Other),
        ObjectType::ObjectTransform => ("TRANSFORM", ObjectKind::Other),
        ObjectType::ObjectTsconfiguration => ("TEXT SEARCH CONFIGURATION", ObjectKind::Other),
        ObjectType::ObjectTsdictionary => ("TEXT SEARCH DICTIONARY", ObjectKind::Other),
        ObjectType::ObjectTsparser => ("TEXT SEARCH PARSER", ObjectKind::Other),
        ObjectType::ObjectTstemplate => ("TEXT SEARCH TEMPLATE", ObjectKind::Other),
        ObjectType::ObjectLargeobject => ("LARGE OBJECT", ObjectKind::Other),
        ObjectType::ObjectUserMapping => ("USER MAPPING", ObjectKind::Other),
        ObjectType::ObjectTabconstraint | ObjectType::ObjectDomconstraint => {
            ("CONSTRAINT", ObjectKind::Other)
        }
        _ => ("OBJECT", ObjectKind::Other),
    }
}

/// `schema.name` or `name` of a range variable.
pub(crate) fn range_var(relation: &protobuf::RangeVar) -> String {
    if relation.schemaname.is_empty() {
        relation.relname.clone()
    } else {
        format!("{}.{}", relation.schemaname, relation.relname)
    }
}

/// The name of an object in a DROP/COMMENT/ALTER ... statement, whatever shape the parser gave it.
pub(crate) fn object_name(node: &protobuf::Node) -> String {
    match node.node.as_ref() {
        Some(NodeEnum::List(list)) => dotted(&list.items),
        Some(NodeEnum::String(text)) => text.sval.clone(),
        Some(NodeEnum::TypeName(type_name)) => dotted(&type_name.names),
        Some(NodeEnum::ObjectWithArgs(function)) => dotted(&function.objname),
        Some(NodeEnum::RangeVar(relation)) => range_var(relation),
        Some(NodeEnum::RoleSpec(role)) => role_name(role),
        Some(NodeEnum::Integer(int)) => int.ival.to_string(),
        _ => "?".to_owned(),
    }
}

/// A role as written, with the keyword forms (`CURRENT_USER`, `PUBLIC`) spelled out.
pub(crate) fn role_name(role: &protobuf::RoleSpec) -> String {
    use protobuf::RoleSpecType;
    match RoleSpecType::try_from(role.roletype) {
        Ok(RoleSpecType::RolespecCurrentRole) => "CURRENT_ROLE".to_owned(),
        Ok(RoleSpecType::RolespecCurrentUser) => "CURRENT_USER".to_owned(),
        Ok(RoleSpecType::RolespecSessionUser) => "SESSION_USER".to_owned(),
        Ok(RoleSpecType::RolespecPublic) => "PUBLIC".to_owned(),
        _ => role.rolename.clone(),
    }
}

/// Joins a list of `String` nodes with dots.
pub(crate) fn dotted(items: &[protobuf::Node]) -> String {
    let mut out = String::new();
    for item in items {
        if let Some(NodeEnum::String(text)) = item.node.as_ref() {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&text.sval);
        }
    }
    out
}

/// The value of a `DefElem` option list entry named `name`, as text (`LANGUAGE plpython3u` -> `plpython3u`).
pub(crate) fn def_elem_text<'a>(options: &'a [protobuf::Node], name: &str) -> Option<&'a str> {
    options.iter().find_map(|option| match option.node.as_ref() {
        Some(NodeEnum::DefElem(def)) if def.defname == name => match def.arg.as_deref()?.node.as_ref()? {
            NodeEnum::String(text) => Some(text.sval.as_str()),
            _ => None,
        },
        _ => None,
    })
}

/// Whether a `DefElem` option list contains `name` switched on (`EXPLAIN (ANALYZE)`, `EXPLAIN (ANALYZE true)`).
pub(crate) fn def_elem_enabled(options: &[protobuf::Node], name: &str) -> bool {
    options.iter().any(|option| match option.node.as_ref() {
        Some(NodeEnum::DefElem(def)) if def.defname.eq_ignore_ascii_case(name) => {
            match def.arg.as_deref().and_then(|arg| arg.node.as_ref()) {
                None => true,
                Some(NodeEnum::Boolean(flag)) => flag.boolval,
                Some(NodeEnum::String(text)) => !matches!(
                    text.sval.to_ascii_lowercase().as_str(),
                    "false" | "off" | "no" | "0" | "f" | "n"
                ),
                Some(NodeEnum::Integer(int)) => int.ival != 0,
                Some(NodeEnum::AConst(constant)) => !constant.isnull,
                Some(_) => true,
            }
        }
        _ => false,
    })
}
