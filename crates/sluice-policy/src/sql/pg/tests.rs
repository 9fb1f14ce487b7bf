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

#[test]
fn execute_of_a_statement_prepared_in_sql_is_classified_as_its_body() {
    let opaque = |classified: &Classified| {
        classified.items[0]
            .findings
            .iter()
            .any(|finding| finding.category == Category::Opaque)
    };
    // Unknown to the session: opaque, as before.
    let mut prepared = Prepared::default();
    assert!(opaque(&classify_in("EXECUTE q(1)", &prepared)));
    // Prepared (names fold like the server folds them): the body's kind, objects and findings.
    assert!(prepared.track("PREPARE Q(int) AS DELETE FROM accounts"));
    let item = &classify_in("EXECUTE q(1)", &prepared).items[0];
    assert_eq!(item.kind, Kind::Write);
    assert_eq!(item.tag, "EXECUTE");
    assert!(item
        .findings
        .iter()
        .any(|f| f.category == Category::DeleteWithoutWhere && f.detail.contains("prepared statement q")));
    assert!(item
        .objects
        .iter()
        .any(|o| o.kind == ObjectKind::Table && o.name == "accounts" && o.access == Access::Write));
    // The arguments are evaluated when it runs: a write among them counts.
    assert!(prepared.track("PREPARE r(bigint) AS SELECT id FROM t WHERE id = $1"));
    let item = &classify_in("EXECUTE r(1)", &prepared).items[0];
    assert_eq!(item.kind, Kind::Read);
    assert!(!opaque(&classify_in("EXECUTE r(1)", &prepared)));
    let item_with_call = &classify_in("EXECUTE r(nextval('s'))", &prepared).items[0];
    assert_eq!(item_with_call.kind, Kind::Write);
    // Prepared twice without a DEALLOCATE: the server refused one of them, and which is not known.
    assert!(prepared.track("PREPARE r AS SELECT 2"));
    assert!(opaque(&classify_in("EXECUTE r(1)", &prepared)));
    // DEALLOCATE forgets a name; preparing it again is a fresh statement.
    assert!(prepared.track("DEALLOCATE r"));
    assert!(opaque(&classify_in("EXECUTE r", &prepared)));
    assert!(prepared.track("PREPARE r AS SELECT 3"));
    assert_eq!(classify_in("EXECUTE r", &prepared).items[0].kind, Kind::Read);
    // DEALLOCATE ALL and DISCARD ALL forget them all; other texts change nothing.
    assert!(!prepared.track("SELECT 'prepare' FROM t"));
    assert!(prepared.track("DISCARD ALL"));
    assert!(prepared.is_empty());
    assert!(prepared.track("PREPARE a AS SELECT 1; PREPARE b AS SELECT 2"));
    assert!(prepared.track("DEALLOCATE PREPARE ALL"));
    assert!(prepared.is_empty());
}

#[test]
fn a_prepare_the_server_refused_is_taken_back() {
    let kind = |prepared: &Prepared| classify_in("EXECUTE q", prepared).items[0].kind;
    let opaque = |prepared: &Prepared| kind(prepared) == Kind::Opaque;
    // A first PREPARE that failed (a typo, a missing table) leaves no name: the fixed one is known.
    let mut prepared = Prepared::default();
    let typo = prepared.follow("PREPARE q AS SELECT * FROM missing");
    assert!(typo.changed);
    assert!(prepared.refused(&typo.undo.unwrap()));
    assert!(prepared.is_empty());
    prepared.track("PREPARE q AS SELECT 1");
    assert_eq!(kind(&prepared), Kind::Read);
    // Preparing an existing name fails on the server: taken back, the first text is known again.
    let again = prepared.follow("PREPARE q AS DELETE FROM t");
    assert!(opaque(&prepared));
    assert!(prepared.refused(&again.undo.unwrap()));
    assert_eq!(kind(&prepared), Kind::Read);
    // Not after the name changed since (here a named Parse took it): the safe side stays.
    let late = prepared.follow("PREPARE q AS SELECT 2");
    prepared.parsed("q");
    assert!(!prepared.refused(late.undo.as_ref().unwrap()));
    assert!(opaque(&prepared));
    // Nor once deallocated and prepared again: the entry is another one.
    prepared.track("DEALLOCATE q");
    let first = prepared.follow("PREPARE q AS SELECT 3");
    prepared.track("DEALLOCATE q");
    prepared.track("PREPARE q AS SELECT 4");
    assert!(!prepared.refused(first.undo.as_ref().unwrap()));
    assert_eq!(kind(&prepared), Kind::Read);
    // Several statements in one text, or no PREPARE: nothing to take back.
    assert!(prepared
        .follow("PREPARE a AS SELECT 1; PREPARE b AS SELECT 2")
        .undo
        .is_none());
    assert!(prepared.follow("DEALLOCATE a").undo.is_none());
    assert!(prepared.follow("SELECT 1").undo.is_none());
}

#[test]
fn a_prepare_earlier_in_the_same_text_is_what_a_later_execute_runs() {
    let mut prepared = Prepared::default();
    prepared.track("PREPARE q AS SELECT 1");
    let classified = classify_in("DEALLOCATE q; PREPARE q AS DROP TABLE t; EXECUTE q", &prepared);
    // PREPARE's body cannot be DROP: the server rejects it, and the text does not parse for the classifier
    // either; with a body that can run, the EXECUTE is the new body.
    assert_eq!(classified.items.len(), 1, "{classified:?}");
    let classified = classify_in("DEALLOCATE q; PREPARE q AS DELETE FROM t; EXECUTE q", &prepared);
    assert_eq!(classified.items[2].kind, Kind::Write);
    assert!(classified.items[2]
        .findings
        .iter()
        .any(|f| f.category == Category::DeleteWithoutWhere));
    // Without the DEALLOCATE the name is ambiguous within the text too.
    let classified = classify_in("PREPARE q AS DELETE FROM t; EXECUTE q", &prepared);
    assert_eq!(classified.items[1].kind, Kind::Opaque);
}

#[test]
fn names_prepared_with_the_extended_protocol_are_not_executed_by_a_stale_text() {
    let opaque = |prepared: &Prepared| classify_in("EXECUTE q", prepared).items[0].kind == Kind::Opaque;
    let mut prepared = Prepared::default();
    prepared.track("PREPARE q AS SELECT 1");
    assert!(!opaque(&prepared));
    // The client closes it with the protocol and parses another text under the name: SQL's EXECUTE runs that.
    assert!(prepared.closed("q"));
    assert!(opaque(&prepared));
    assert!(!prepared.parsed("q"), "nothing known was dropped");
    assert!(opaque(&prepared));
    // A named Parse over a known SQL name drops it too.
    prepared.track("DEALLOCATE q");
    prepared.track("PREPARE q AS SELECT 1");
    assert!(prepared.parsed("q"));
    assert!(opaque(&prepared));
    // The unnamed statement is not reachable from SQL.
    assert!(!prepared.parsed(""));
}

#[test]
fn what_pg_dump_sends_on_a_read_only_connection_reads() {
    let item = |sql: &str| classify(sql).items[0].clone();
    let privilege = |sql: &str| {
        item(sql)
            .findings
            .iter()
            .any(|f| f.category == Category::PrivilegeChange)
    };
    // The lock every SELECT takes, taken explicitly, is a read; every stronger mode blocks writers.
    assert_eq!(item("LOCK TABLE public.t IN ACCESS SHARE MODE").kind, Kind::Read);
    assert_eq!(item("LOCK TABLE t IN ROW SHARE MODE").kind, Kind::Write);
    assert_eq!(item("LOCK TABLE t").kind, Kind::Write);
    // set_config of a plain, constant setting is that SET.
    assert!(!privilege(
        "SELECT pg_catalog.set_config('search_path', '', false)"
    ));
    assert_eq!(
        item("SELECT pg_catalog.set_config('search_path', '', false)").kind,
        Kind::Read
    );
    // The role, the session authorization, settings that load code, and a setting not named by a constant are more.
    assert!(privilege("SELECT set_config('role', 'admin', false)"));
    assert!(privilege(
        "SELECT set_config(' Session_Authorization', 'admin', false)"
    ));
    assert!(privilege(
        "SELECT set_config('session_preload_libraries', 'x', false)"
    ));
    assert!(privilege("SELECT set_config(name, 'admin', false) FROM settings"));
    // pg_dump's hardening: the setting is a column, but the query pins it to one plain name.
    let pinned = "SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings \
                  WHERE name = 'restrict_nonsystem_relation_kind'";
    assert!(!privilege(pinned));
    assert_eq!(item(pinned).kind, Kind::Read);
    for allowed in [
        "SELECT pg_catalog.set_config(s.name, 'x', false) FROM pg_catalog.pg_settings s \
         WHERE 'work_mem' = s.name AND s.context = 'user'",
        "SELECT set_config(pg_settings.name, '1MB', false) FROM pg_settings WHERE pg_settings.name = 'work_mem'",
    ] {
        assert!(!privilege(allowed), "{allowed}");
    }
    // Pinned to the role, not pinned at all, or not the shape: still a possible privilege change.
    for refused in [
        "SELECT set_config(name, 'admin', false) FROM pg_settings WHERE name = 'role'",
        "SELECT set_config(name, 'x', false) FROM pg_settings WHERE name = 'work_mem' OR true",
        "SELECT set_config(name, 'x', false) FROM pg_settings WHERE name <> 'work_mem'",
        "SELECT set_config(name, 'x', false) FROM pg_settings WHERE name LIKE 'work_mem'",
        "SELECT set_config(name, 'x', false) FROM pg_settings",
        "SELECT set_config(name, 'x', false) FROM settings WHERE name = 'work_mem'",
        "SELECT set_config(name, 'x', false) FROM other.pg_settings WHERE name = 'work_mem'",
        "SELECT set_config(r.name, 'x', false) FROM pg_settings, roles r WHERE name = 'work_mem'",
        "SELECT set_config(p.name, 'x', false) FROM pg_settings s, pg_settings p WHERE s.name = 'work_mem'",
        "SELECT set_config(x.name, 'x', false) FROM pg_settings s WHERE s.name = 'work_mem'",
        "SELECT (SELECT set_config(name, 'x', false) FROM roles) FROM pg_settings WHERE name = 'work_mem'",
        "SELECT upper(set_config(name, 'x', false)) FROM pg_settings WHERE name = 'work_mem' \
         UNION SELECT set_config(name, 'admin', false) FROM pg_settings WHERE name = 'role'",
        "SELECT set_config(name, 'x', false) FROM pg_settings WHERE name = 'work_mem' \
         UNION SELECT set_config(name, 'admin', false) FROM roles",
    ] {
        assert!(privilege(refused), "{refused}");
    }
}
