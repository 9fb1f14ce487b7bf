//! Unit tests for the parts of PostgreSQL classification that the table-driven corpus (tests/pg_cases.rs) does not
//! reach directly: spans, indexes, kinds and objects.

use super::*;
use crate::facts::{Access, ObjectKind};

#[test]
fn every_statement_of_a_multi_statement_string_gets_its_own_span_and_index() {
    let sql = "SELECT 1;  DROP TABLE users ; DELETE FROM t";
    let classified = classify(sql);
    let spans: Vec<&str> = classified
        .items
        .iter()
        .map(|item| &sql[item.span.clone()])
        .collect();
    assert_eq!(spans, ["SELECT 1", "DROP TABLE users", "DELETE FROM t"]);
    let indexes: Vec<usize> = classified.items.iter().map(|item| item.index).collect();
    assert_eq!(indexes, [0, 1, 2]);
}

#[test]
fn function_findings_point_at_the_call() {
    let sql = "SELECT id, nextval('s') FROM t";
    let item = &classify(sql).items[0];
    let finding = item
        .findings
        .iter()
        .find(|finding| finding.category == Category::Write)
        .unwrap();
    assert_eq!(&sql[finding.span.clone()], "nextval");
}

#[test]
fn kinds_follow_what_the_statement_does() {
    let kind = |sql: &str| classify(sql).items[0].kind;
    assert_eq!(kind("SELECT 1"), Kind::Read);
    assert_eq!(
        kind("WITH d AS (DELETE FROM t RETURNING 1) SELECT 1"),
        Kind::Write
    );
    assert_eq!(kind("SELECT nextval('s')"), Kind::Write);
    // currval/lastval only read this session's sequence state: a read-only connection may call them.
    assert_eq!(kind("SELECT currval('s')"), Kind::Read);
    assert_eq!(kind("SELECT lastval()"), Kind::Read);
    assert_eq!(kind("DROP TABLE t"), Kind::Ddl);
    assert_eq!(kind("GRANT SELECT ON t TO r"), Kind::Privilege);
    assert_eq!(kind("BEGIN"), Kind::Transaction);
    assert_eq!(kind("SET search_path = a"), Kind::Session);
    assert_eq!(kind("DO $$ BEGIN END $$"), Kind::Opaque);
    assert_eq!(kind("not sql at all"), Kind::Opaque);
}

#[test]
fn objects_carry_their_access_mode_and_ctes_are_not_tables() {
    let classified =
        classify("WITH recent AS (SELECT * FROM orders) INSERT INTO archive.orders SELECT * FROM recent");
    let objects = &classified.items[0].objects;
    assert!(objects
        .iter()
        .any(|o| o.name == "archive.orders" && o.access == Access::Write && o.kind == ObjectKind::Table));
    assert!(objects
        .iter()
        .any(|o| o.name == "orders" && o.access == Access::Read));
    assert!(!objects.iter().any(|o| o.name == "recent"));
}

#[test]
fn empty_and_comment_only_input_has_no_items() {
    assert!(classify("").items.is_empty());
    assert!(classify("  -- nothing\n /* still nothing */ ").items.is_empty());
}

#[test]
fn unparseable_input_is_one_opaque_item_over_the_whole_text() {
    let sql = "SELECT 1; SELEC 2";
    let classified = classify(sql);
    assert_eq!(classified.items.len(), 1);
    assert_eq!(classified.items[0].span, 0..sql.len());
    assert!(classified.items[0].has(Category::Opaque));
}

#[test]
fn unicode_escaped_identifiers_are_decoded_like_the_server_does() {
    let classified = classify(r#"DROP TABLE U&"\0075sers""#);
    assert_eq!(classified.items[0].objects[0].name, "users");
}
