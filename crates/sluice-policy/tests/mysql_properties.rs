//! Property tests for the MySQL classifier: it never panics and always returns valid spans; whitespace, comments,
//! keyword case and statement boundaries do not change what a statement is reported as.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;

use proptest::prelude::*;
use sluice_policy::sql::mysql::{classify, MysqlOptions};

/// Statements written with exactly one space between tokens (no spaces inside literals), so that the space can be
/// replaced by any other token separator.
const BASE: &[&str] = &[
    "SELECT * FROM users WHERE id = 1",
    "DROP TABLE users",
    "DROP DATABASE IF EXISTS prod",
    "DELETE FROM orders",
    "DELETE FROM orders WHERE 1 = 1",
    "DELETE FROM orders WHERE id = 7 LIMIT 1",
    "DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id",
    "DELETE t1 FROM t1 , t2",
    "UPDATE accounts SET balance = 0",
    "UPDATE accounts SET balance = 0 WHERE 'a' = 'a'",
    "UPDATE accounts SET balance = 0 WHERE id = 3",
    "TRUNCATE TABLE audit",
    "ALTER TABLE users DROP COLUMN email",
    "GRANT ALL ON *.* TO 'x'@'%'",
    "INSERT INTO t ( a ) VALUES ( 1 )",
    "SELECT * FROM t INTO OUTFILE '/tmp/x'",
    "LOAD DATA INFILE '/etc/passwd' INTO TABLE t",
    "CALL p ( )",
    "PREPARE s FROM @q",
    "SELECT my_func ( 1 )",
    "CREATE TABLE t ( id INT )",
    "SET ROLE admin",
];

const SEPARATORS: &[&str] = &[
    " ",
    "  ",
    "\n",
    "\t",
    "\r\n",
    "/**/",
    " /* x */ ",
    " /* DROP TABLE decoy; */ ",
    " -- c; DROP TABLE decoy\n",
    " # c ' \n",
    "/*!*/",
    " /*+ hint */ ",
];

fn categories(sql: &str) -> BTreeSet<String> {
    classify(sql, &MysqlOptions::default())
        .items
        .iter()
        .flat_map(|item| {
            item.findings
                .iter()
                .map(|finding| format!("{:?}", finding.category))
        })
        .collect()
}

fn rejoin(base: &str, separators: &[usize]) -> String {
    let mut out = String::new();
    for (at, token) in base.split(' ').enumerate() {
        if at > 0 {
            out.push_str(SEPARATORS[separators[at % separators.len()] % SEPARATORS.len()]);
        }
        out.push_str(token);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_and_spans_are_valid(sql in any::<String>(), backslashes: bool, ansi: bool) {
        let opts = MysqlOptions { no_backslash_escapes: backslashes, ansi_quotes: ansi };
        for item in classify(&sql, &opts).items {
            prop_assert!(sql.get(item.span.clone()).is_some(), "item span {:?}", item.span);
            for finding in item.findings {
                prop_assert!(sql.get(finding.span.clone()).is_some(), "finding span {:?}", finding.span);
            }
        }
    }

    #[test]
    fn sql_shaped_text_never_panics(sql in "[a-zA-Z0-9 '\"`;#/*!\\\\()=@.,\n<>|&-]{0,160}") {
        for item in classify(&sql, &MysqlOptions::default()).items {
            prop_assert!(sql.get(item.span.clone()).is_some());
        }
    }

    #[test]
    fn separators_between_tokens_do_not_change_findings(base in 0..BASE.len(), separators in proptest::collection::vec(0..SEPARATORS.len(), 1..8)) {
        let original = BASE[base];
        let variant = rejoin(original, &separators);
        prop_assert_eq!(categories(original), categories(&variant), "{:?}", variant);
    }

    #[test]
    fn keyword_case_does_not_change_findings(base in 0..BASE.len(), upper: bool) {
        let original = BASE[base];
        let variant = if upper { original.to_uppercase() } else { original.to_lowercase() };
        prop_assert_eq!(categories(original), categories(&variant), "{:?}", variant);
    }

    #[test]
    fn a_multi_statement_string_reports_every_statement(first in 0..BASE.len(), second in 0..BASE.len()) {
        let joined = format!("{} ; {}", BASE[first], BASE[second]);
        let mut expected = categories(BASE[first]);
        expected.extend(categories(BASE[second]));
        prop_assert_eq!(categories(&joined), expected);
    }

    #[test]
    fn wrapping_a_statement_in_an_executable_comment_does_not_hide_it(base in 0..BASE.len(), version in proptest::option::of(40000u32..100000)) {
        let original = BASE[base];
        let version = version.map(|v| v.to_string()).unwrap_or_default();
        let variant = format!("/*!{version} {original} */");
        prop_assert_eq!(categories(original), categories(&variant), "{:?}", variant);
    }
}
