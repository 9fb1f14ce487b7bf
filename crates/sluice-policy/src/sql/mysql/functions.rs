//! What MySQL / MariaDB function calls do, as far as a gateway can know without the server's catalog.
//!
//! A stored function may run any statement (MySQL stored functions can `INSERT`, `UPDATE` and `DELETE`), so only
//! built-ins on the allow-list below count as free of side effects. Schema-qualified calls are never trusted: a
//! built-in is never called qualified, and `db.concat()` is somebody's stored function.

/// What a call is known to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FunctionClass {
    /// A built-in without side effects worth a guardrail.
    ReadOnly,
    /// Reads files on the server or runs programs there (`LOAD_FILE`, the `lib_mysqludf_sys` UDFs).
    ServerAccess,
    /// A built-in that changes data (MariaDB sequence functions).
    Writes,
    /// Not known: a stored function or a UDF.
    Unknown,
}

/// Classifies a call by its name parts as written.
pub(crate) fn classify_function(parts: &[String]) -> FunctionClass {
    let [name] = parts else { return FunctionClass::Unknown };
    let name = name.to_ascii_lowercase();
    if SERVER_ACCESS.contains(&name.as_str()) {
        FunctionClass::ServerAccess
    } else if WRITES.contains(&name.as_str()) {
        FunctionClass::Writes
    } else if READ_ONLY.binary_search(&name.as_str()).is_ok() {
        FunctionClass::ReadOnly
    } else {
        FunctionClass::Unknown
    }
}

const SERVER_ACCESS: &[&str] = &["load_file", "sys_exec", "sys_eval", "sys_get", "sys_set", "sys_bineval"];

const WRITES: &[&str] = &["nextval", "setval", "lastval"];

/// Built-in functions and function-like operators without data side effects. Sorted: looked up by binary search.
const READ_ONLY: &[&str] = &[
    "abs", "acos", "adddate", "addtime", "aes_decrypt", "aes_encrypt", "any_value", "ascii", "asin", "atan",
    "atan2", "avg", "benchmark", "bin", "bin_to_uuid", "bit_and", "bit_count", "bit_length", "bit_or", "bit_xor",
    "cast", "ceil", "ceiling", "char", "char_length", "character_length", "charset", "coalesce", "coercibility",
    "collation", "compress", "concat", "concat_ws", "connection_id", "conv", "convert", "convert_tz", "cos", "cot",
    "count", "crc32", "cume_dist", "curdate", "current_date", "current_role", "current_time", "current_timestamp",
    "current_user", "curtime", "database", "date", "date_add", "date_format", "date_sub", "datediff", "day",
    "dayname", "dayofmonth", "dayofweek", "dayofyear", "decode", "default", "degrees", "dense_rank", "elt",
    "encode", "exp", "export_set", "extract", "extractvalue", "field", "find_in_set", "first_value", "floor",
    "format", "format_bytes", "format_pico_time", "found_rows", "from_base64", "from_days", "from_unixtime",
    "get_format", "get_lock", "greatest", "group_concat", "hex", "hour", "if", "ifnull", "inet6_aton",
    "inet6_ntoa", "inet_aton", "inet_ntoa", "insert", "instr", "interval", "is_free_lock", "is_ipv4",
    "is_ipv4_compat", "is_ipv4_mapped", "is_ipv6", "is_used_lock", "is_uuid", "isnull", "json_array",
    "json_array_append", "json_array_insert", "json_arrayagg", "json_contains", "json_contains_path",
    "json_depth", "json_extract", "json_insert", "json_keys", "json_length", "json_merge", "json_merge_patch",
    "json_merge_preserve", "json_object", "json_objectagg", "json_overlaps", "json_pretty", "json_quote",
    "json_remove", "json_replace", "json_schema_valid", "json_search", "json_set", "json_storage_size",
    "json_table", "json_type", "json_unquote", "json_valid", "json_value", "lag", "last_day", "last_insert_id",
    "last_value", "lcase", "lead", "least", "left", "length", "ln", "localtime", "localtimestamp", "locate",
    "log", "log10", "log2", "lower", "lpad", "ltrim", "make_set", "makedate", "maketime", "master_pos_wait",
    "match", "max", "md5", "microsecond", "mid", "min", "minute", "mod", "month", "monthname", "name_const",
    "now", "nth_value", "ntile", "nullif", "oct", "octet_length", "ord", "percent_rank", "period_add",
    "period_diff", "pi", "position", "pow", "power", "quarter", "quote", "radians", "rand", "random_bytes",
    "rank", "regexp_instr", "regexp_like", "regexp_replace", "regexp_substr", "release_all_locks",
    "release_lock", "repeat", "replace", "reverse", "right", "round", "row_count", "row_number", "rpad", "rtrim",
    "schema", "sec_to_time", "second", "session_user", "sha", "sha1", "sha2", "sign", "sin", "sleep", "soundex",
    "space", "sqrt", "st_astext", "st_distance", "st_geomfromtext", "st_x", "st_y", "statement_digest",
    "statement_digest_text", "std", "stddev", "stddev_pop", "stddev_samp", "str_to_date", "strcmp", "subdate",
    "substr", "substring", "substring_index", "subtime", "sum", "sysdate", "system_user", "tan", "time",
    "time_format", "time_to_sec", "timediff", "timestamp", "timestampadd", "timestampdiff", "to_base64",
    "to_days", "to_seconds", "trim", "truncate", "ucase", "uncompress", "uncompressed_length", "unhex",
    "unix_timestamp", "upper", "user", "utc_date", "utc_time", "utc_timestamp", "uuid", "uuid_short",
    "uuid_to_bin", "validate_password_strength", "values", "var_pop", "var_samp", "variance", "version", "week",
    "weekday", "weekofyear", "weight_string", "year", "yearweek",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allow_list_is_sorted_for_binary_search() {
        assert!(READ_ONLY.windows(2).all(|pair| pair[0] < pair[1]), "READ_ONLY must be sorted and unique");
    }

    #[test]
    fn qualified_and_unknown_calls_are_not_trusted() {
        assert_eq!(classify_function(&["db".into(), "concat".into()]), FunctionClass::Unknown);
        assert_eq!(classify_function(&["my_func".into()]), FunctionClass::Unknown);
        assert_eq!(classify_function(&["CONCAT".into()]), FunctionClass::ReadOnly);
        assert_eq!(classify_function(&["LOAD_FILE".into()]), FunctionClass::ServerAccess);
    }
}
