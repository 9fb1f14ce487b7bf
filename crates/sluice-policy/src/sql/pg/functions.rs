//! What PostgreSQL function calls do, as far as a gateway can know without the catalog.
//!
//! A function call can hide any side effect (a user-defined function may `DELETE`), so the classifier sorts every
//! call into one of four bins: known to be free of side effects (built-ins on the allow-list), known to write or
//! affect other sessions (`nextval`, `pg_terminate_backend`, ...), known to touch the server's file system or run
//! code (`lo_import`, `pg_read_file`, ...), known to run SQL text we cannot see (`dblink`, `query_to_xml`), and
//! everything else, which is [`FunctionClass::Unknown`]. Only built-ins in `pg_catalog` are trusted: a
//! schema-qualified call to anything but `pg_catalog` is unknown, because a user schema can shadow any name.

/// What a function call is known to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FunctionClass {
    /// A built-in without side effects.
    ReadOnly,
    /// A built-in that changes data or state visible to other sessions.
    Writes,
    /// A built-in that changes roles or privileges.
    ChangesPrivilege,
    /// A built-in that reads or writes server files or runs code on the server.
    ServerAccess,
    /// A built-in that executes SQL given as text: what it does cannot be known.
    DynamicSql,
    /// Not known: user-defined or an extension's.
    Unknown,
}

/// Classifies a call by its (lower-case, possibly qualified) name parts.
pub(crate) fn classify_function(parts: &[&str]) -> FunctionClass {
    let name = match parts {
        [name] => *name,
        ["pg_catalog", name] => *name,
        // Extension functions are usually called qualified; recognise the dangerous ones in any schema.
        [.., name] if is_extension_danger(name) => *name,
        _ => return FunctionClass::Unknown,
    };
    if WRITES.contains(&name) {
        FunctionClass::Writes
    } else if PRIVILEGE.contains(&name) {
        FunctionClass::ChangesPrivilege
    } else if SERVER_ACCESS.contains(&name) {
        FunctionClass::ServerAccess
    } else if DYNAMIC_SQL.contains(&name) {
        FunctionClass::DynamicSql
    } else if is_read_only(name) {
        FunctionClass::ReadOnly
    } else {
        FunctionClass::Unknown
    }
}

fn is_extension_danger(name: &str) -> bool {
    DYNAMIC_SQL.contains(&name) || SERVER_ACCESS.contains(&name) || WRITES.contains(&name)
}

fn is_read_only(name: &str) -> bool {
    READ_ONLY.binary_search(&name).is_ok() || READ_ONLY_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

/// Built-ins that change data, sequences, other sessions or server state.
const WRITES: &[&str] = &[
    "nextval",
    "setval",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_switch_wal",
    "pg_create_restore_point",
    "pg_promote",
    "pg_backup_start",
    "pg_backup_stop",
    "pg_create_physical_replication_slot",
    "pg_create_logical_replication_slot",
    "pg_drop_replication_slot",
    "pg_copy_physical_replication_slot",
    "pg_copy_logical_replication_slot",
    "pg_replication_slot_advance",
    "pg_logical_slot_get_changes",
    "pg_logical_slot_get_binary_changes",
    "pg_logical_emit_message",
    "pg_replication_origin_create",
    "pg_replication_origin_drop",
    "pg_replication_origin_advance",
    "pg_replication_origin_session_setup",
    "pg_stat_reset",
    "pg_stat_reset_shared",
    "pg_stat_reset_single_table_counters",
    "pg_stat_reset_single_function_counters",
    "pg_stat_reset_slru",
    "pg_stat_reset_replication_slot",
    "pg_stat_reset_subscription_stats",
    "pg_stat_statements_reset",
    "pg_log_backend_memory_contexts",
    "pg_import_system_collations",
    "pg_notify",
    "lo_create",
    "lo_creat",
    "lo_unlink",
    "lo_put",
    "lo_from_bytea",
    "lo_truncate",
    "lo_truncate64",
    "lowrite",
    "pg_advisory_lock",
    "pg_advisory_xact_lock",
    "pg_try_advisory_lock",
    "pg_try_advisory_xact_lock",
    "pg_advisory_unlock",
    "pg_advisory_unlock_all",
    "pg_wal_replay_pause",
    "pg_wal_replay_resume",
    "txid_current",
    "pg_current_xact_id",
    "pg_sequence_last_value_set",
    "pg_prewarm",
    "pg_clear_attribute_stats",
    "pg_clear_relation_stats",
    "pg_restore_attribute_stats",
    "pg_restore_relation_stats",
];

/// Built-ins that change roles, settings or authorisation.
const PRIVILEGE: &[&str] = &["set_config"];

/// Built-ins that read or write the server's file system or load code.
const SERVER_ACCESS: &[&str] = &[
    "lo_import",
    "lo_export",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_stat_file",
    "pg_ls_logdir",
    "pg_ls_waldir",
    "pg_ls_tmpdir",
    "pg_ls_archive_statusdir",
    "pg_ls_logicalsnapdir",
    "pg_ls_logicalmapdir",
    "pg_ls_replslotdir",
    "pg_file_write",
    "pg_file_rename",
    "pg_file_unlink",
    "pg_file_sync",
    "pg_logdir_ls",
];

/// Built-ins (and well-known extension functions) that execute SQL passed as text.
const DYNAMIC_SQL: &[&str] = &[
    "dblink",
    "dblink_exec",
    "dblink_send_query",
    "dblink_open",
    "dblink_fetch",
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "cursor_to_xml",
    "xpath_table",
    "crosstab",
    "crosstab2",
    "crosstab3",
    "crosstab4",
];

/// Families of read-only built-ins named by prefix (statistics views' accessors, JSON, arrays, text search...).
const READ_ONLY_PREFIXES: &[&str] = &[
    "array_",
    "json_",
    "jsonb_",
    "regexp_",
    "string_",
    "to_",
    "ts_",
    "date_",
    "has_",
    "pg_get_",
    "pg_size_",
    "pg_stat_get_",
    "pg_is_",
    "pg_has_",
    "pg_table_",
    "pg_relation_",
    "pg_total_relation_",
    "pg_indexes_",
    "pg_database_",
    "pg_tablespace_",
    "pg_column_",
    "pg_describe_",
    "pg_typeof",
    "pg_encoding_",
    "pg_client_",
    "pg_last_",
    "pg_current_wal_",
    "pg_wal_lsn_",
    "pg_walfile_",
    "pg_visible_",
    "pg_function_",
    "pg_type_",
    "pg_opclass_",
    "pg_collation_",
    "pg_conversion_",
    "pg_operator_",
    "pg_ts_",
    "pg_input_",
    "pg_xact_",
    "pg_snapshot_",
    "txid_snapshot_",
    "txid_visible_",
    "int4",
    "int8",
    "numeric_",
    "bit_",
    "bool_",
    "st_",
    "xml",
    "current_",
    "percentile_",
    "regr_",
    "var_",
    "stddev",
    "covar_",
    "range_",
    "multirange",
    "inet_",
    "host",
    "make_",
    "justify_",
    "timezone",
    "unistr",
    "enum_",
    "format_",
    "obj_description",
    "col_description",
    "shobj_description",
];

/// Read-only built-ins and functions of common extensions (pgcrypto, uuid-ossp, pg_trgm, fuzzystrmatch,
/// unaccent), sorted for binary search (a test keeps it sorted).
const READ_ONLY: &[&str] = &[
    "abbrev",
    "abs",
    "acldefault",
    "acos",
    "age",
    "any_value",
    "array_agg",
    "array_to_string",
    "ascii",
    "asin",
    "atan",
    "atan2",
    "avg",
    "bit_length",
    "bool",
    "bool_and",
    "bool_or",
    "btrim",
    "cardinality",
    "casefold",
    "cbrt",
    "ceil",
    "ceiling",
    "char_length",
    "character_length",
    "chr",
    "clock_timestamp",
    "coalesce",
    "concat",
    "concat_ws",
    "convert_from",
    "convert_to",
    "corr",
    "cos",
    "cot",
    "count",
    "crypt",
    "cume_dist",
    "current_database",
    "current_query",
    "current_schema",
    "current_schemas",
    "current_setting",
    "current_user",
    "currval",
    "date",
    "date_bin",
    "date_part",
    "date_trunc",
    "decode",
    "degrees",
    "dense_rank",
    "difference",
    "digest",
    "div",
    "encode",
    "every",
    "exp",
    "extract",
    "factorial",
    "family",
    "first_value",
    "float8",
    "floor",
    "format",
    "gcd",
    "gen_random_uuid",
    "gen_salt",
    "generate_series",
    "generate_subscripts",
    "get_bit",
    "get_byte",
    "greatest",
    "grouping",
    "hashtext",
    "hmac",
    "inet_client_addr",
    "initcap",
    "int",
    "interval",
    "isempty",
    "isfinite",
    "justify_interval",
    "lag",
    "last_value",
    "lastval",
    "lcm",
    "lead",
    "least",
    "left",
    "length",
    "levenshtein",
    "ln",
    "localtime",
    "localtimestamp",
    "log",
    "log10",
    "lower",
    "lower_inc",
    "lpad",
    "ltrim",
    "masklen",
    "max",
    "md5",
    "metaphone",
    "min",
    "min_scale",
    "mod",
    "mode",
    "netmask",
    "network",
    "normalize",
    "now",
    "nth_value",
    "ntile",
    "nullif",
    "num_nonnulls",
    "num_nulls",
    "numeric",
    "octet_length",
    "overlay",
    "parse_ident",
    "percent_rank",
    "pg_backend_pid",
    "pg_blocking_pids",
    "pg_conf_load_time",
    "pg_export_snapshot",
    "pg_jit_available",
    "pg_listening_channels",
    "pg_my_temp_schema",
    "pg_options_to_table",
    "pg_postmaster_start_time",
    "pg_safe_snapshot_blocking_pids",
    "pg_sleep",
    "pg_trigger_depth",
    "pi",
    "position",
    "power",
    "quote_ident",
    "quote_literal",
    "quote_nullable",
    "radians",
    "random",
    "random_normal",
    "rank",
    "repeat",
    "replace",
    "reverse",
    "right",
    "round",
    "row_number",
    "row_to_json",
    "rpad",
    "rtrim",
    "scale",
    "session_user",
    "set_bit",
    "set_byte",
    "set_masklen",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "sign",
    "similarity",
    "sin",
    "soundex",
    "split_part",
    "split_to_array",
    "sqrt",
    "starts_with",
    "statement_timestamp",
    "strpos",
    "substr",
    "substring",
    "sum",
    "tan",
    "text",
    "timeofday",
    "timestamp",
    "to_date",
    "to_number",
    "to_timestamp",
    "transaction_timestamp",
    "translate",
    "trim",
    "trim_scale",
    "trunc",
    "unaccent",
    "unnest",
    "upper",
    "upper_inc",
    "uuid_extract_timestamp",
    "uuid_extract_version",
    "uuid_generate_v1",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "variance",
    "version",
    "width_bucket",
    "word_similarity",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_list_is_sorted_so_binary_search_finds_every_entry() {
        let mut sorted = READ_ONLY.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, READ_ONLY);
    }

    #[test]
    fn no_function_is_both_dangerous_and_allow_listed() {
        for name in WRITES
            .iter()
            .chain(SERVER_ACCESS)
            .chain(DYNAMIC_SQL)
            .chain(PRIVILEGE)
        {
            assert!(READ_ONLY.binary_search(name).is_err(), "{name} is on two lists");
        }
    }

    #[test]
    fn qualification_outside_pg_catalog_makes_a_builtin_name_unknown() {
        assert_eq!(classify_function(&["lower"]), FunctionClass::ReadOnly);
        assert_eq!(
            classify_function(&["pg_catalog", "lower"]),
            FunctionClass::ReadOnly
        );
        assert_eq!(classify_function(&["public", "lower"]), FunctionClass::Unknown);
        assert_eq!(
            classify_function(&["ext", "dblink_exec"]),
            FunctionClass::DynamicSql
        );
    }
}
