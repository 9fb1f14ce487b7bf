use super::*;

/// `name -> reads` for `sql`, reads as `c:column` and `row:table`, sorted.
fn derived(sql: &str) -> Vec<(Option<String>, Vec<String>)> {
    derived_in(sql, &Prepared::default())
}

fn derived_in(sql: &str, prepared: &Prepared) -> Vec<(Option<String>, Vec<String>)> {
    let mut out: Vec<_> = derived_columns(sql, prepared)
        .into_iter()
        .map(|d| {
            let reads = d
                .reads
                .into_iter()
                .map(|r| match r {
                    ColumnRead::Column(c) => format!("c:{c}"),
                    ColumnRead::Row(t) => format!("row:{t}"),
                })
                .collect();
            (d.name, reads)
        })
        .collect();
    out.sort();
    out
}

fn one(name: &str, reads: &[&str]) -> (Option<String>, Vec<String>) {
    (
        Some(name.to_owned()),
        reads.iter().map(|r| (*r).to_owned()).collect(),
    )
}

#[test]
fn plain_columns_and_stars_derive_nothing() {
    assert!(derived("SELECT id, name, salary FROM staff").is_empty());
    assert!(derived("SELECT s.salary, * FROM staff s").is_empty());
    assert!(derived("SELECT staff.* FROM staff").is_empty());
    assert!(derived("SELECT 1, now()").is_empty());
    assert!(derived("SELEC broken").is_empty());
}

#[test]
fn aliases_with_and_without_as() {
    assert_eq!(
        derived("SELECT salary AS pay FROM staff"),
        [one("pay", &["c:salary"])]
    );
    assert_eq!(
        derived("SELECT s.salary pay FROM staff s"),
        [one("pay", &["c:salary"])]
    );
    assert_eq!(
        derived(r#"SELECT salary AS "Pay" FROM staff"#),
        [one("Pay", &["c:salary"])]
    );
}

#[test]
fn expressions_get_the_names_postgres_gives_them() {
    assert_eq!(
        derived("SELECT salary + 0 FROM staff"),
        [one("?column?", &["c:salary"])]
    );
    assert_eq!(
        derived("SELECT upper(name) FROM staff"),
        [one("upper", &["c:name"])]
    );
    assert_eq!(
        derived("SELECT pg_catalog.lower(name) FROM staff"),
        [one("lower", &["c:name"])]
    );
    // A cast keeps a column's name, and names anything weaker by its type.
    assert!(derived("SELECT salary::text FROM staff").is_empty());
    assert_eq!(
        derived("SELECT (salary + 1)::text FROM staff"),
        [one("text", &["c:salary"])]
    );
    assert_eq!(
        derived("SELECT coalesce(salary, 0) FROM staff"),
        [one("coalesce", &["c:salary"])]
    );
    assert_eq!(
        derived("SELECT greatest(salary, 0) FROM staff"),
        [one("greatest", &["c:salary"])]
    );
    assert_eq!(
        derived("SELECT least(salary, 0) FROM staff"),
        [one("least", &["c:salary"])]
    );
    assert_eq!(
        derived("SELECT nullif(salary, 0) FROM staff"),
        [one("nullif", &["c:salary"])]
    );
    assert_eq!(
        derived("SELECT CASE WHEN id > 1 THEN salary END FROM staff"),
        [one("case", &["c:id", "c:salary"])]
    );
    assert_eq!(
        derived("SELECT CASE WHEN id > 1 THEN 0 ELSE salary END FROM staff"),
        [one("salary", &["c:id", "c:salary"])]
    );
    assert_eq!(
        derived("SELECT ARRAY[salary] FROM staff"),
        [one("array", &["c:salary"])]
    );
    assert_eq!(
        derived("SELECT ROW(salary) FROM staff"),
        [one("row", &["c:salary"])]
    );
    assert_eq!(
        derived("SELECT (SELECT max(salary) FROM staff)"),
        [one("max", &["c:salary"])]
    );
    // Named like the column it reads: matched by name as it is.
    assert!(derived("SELECT ARRAY(SELECT salary FROM staff)").is_empty());
}

#[test]
fn names_the_parser_cannot_know_are_reported_without_one() {
    let found = derived("SELECT xmlelement(name x, salary) FROM staff");
    assert_eq!(found, [(None, vec!["c:salary".to_owned()])]);
}

#[test]
fn whole_rows_read_every_column_of_their_table() {
    assert_eq!(
        derived("SELECT row_to_json(s) FROM staff s"),
        [one("row_to_json", &["c:s", "row:staff"])]
    );
    assert_eq!(
        derived("SELECT s::text FROM staff s"),
        [one("s", &["c:s", "row:staff"])]
    );
    assert_eq!(
        derived("SELECT (s.*)::text FROM staff s"),
        [one("s", &["row:staff"])]
    );
    assert_eq!(
        derived("SELECT staff FROM staff"),
        [one("staff", &["c:staff", "row:staff"])]
    );
}

#[test]
fn renames_are_followed_through_subqueries_and_ctes() {
    assert_eq!(
        derived("SELECT x.pay * 2 AS double FROM (SELECT salary AS pay FROM staff) x"),
        [one("double", &["c:pay", "c:salary"]), one("pay", &["c:salary"])]
    );
    // The outer reference has the inner alias's name: still derived, through it.
    assert_eq!(
        derived("WITH w AS (SELECT salary AS pay FROM staff) SELECT pay FROM w"),
        [one("pay", &["c:pay", "c:salary"]), one("pay", &["c:salary"])]
    );
    assert_eq!(
        derived("SELECT row_to_json(w) FROM (SELECT name, salary FROM staff) w"),
        [one("row_to_json", &["c:name", "c:salary", "c:w"])]
    );
}

#[test]
fn column_alias_lists_read_the_whole_relation() {
    assert_eq!(
        derived("SELECT c FROM staff AS s(a, b, c)"),
        [
            one("a", &["row:staff"]),
            one("b", &["row:staff"]),
            one("c", &["c:c", "row:staff"]),
            one("c", &["row:staff"])
        ]
    );
    assert_eq!(
        derived("WITH w(a, b) AS (SELECT name, salary FROM staff) SELECT b FROM w"),
        [
            one("a", &["c:name", "c:salary"]),
            one("b", &["c:b", "c:name", "c:salary"]),
            one("b", &["c:name", "c:salary"])
        ]
    );
    assert_eq!(
        derived("SELECT b FROM (SELECT name, salary FROM staff) AS x(a, b)"),
        [
            one("a", &["c:name", "c:salary"]),
            one("b", &["c:b", "c:name", "c:salary"]),
            one("b", &["c:name", "c:salary"])
        ]
    );
}

#[test]
fn returning_lists_and_every_statement_of_a_text() {
    assert_eq!(
        derived("UPDATE staff SET name = name RETURNING salary AS pay"),
        [one("pay", &["c:salary"])]
    );
    assert_eq!(
        derived("SELECT 1; SELECT salary AS pay FROM staff"),
        [one("pay", &["c:salary"])]
    );
}

#[test]
fn an_execute_reads_as_the_statement_it_runs() {
    let mut prepared = Prepared::default();
    prepared.track("PREPARE p(int) AS SELECT salary AS pay FROM staff WHERE id = $1");
    assert_eq!(derived_in("EXECUTE p(1)", &prepared), [one("pay", &["c:salary"])]);
    assert!(derived_in("EXECUTE unknown(1)", &prepared).is_empty());
}

#[test]
fn constructs_walked_through_their_serialised_form_keep_their_aliases() {
    // CREATE TABLE AS is not walked by hand: its query's outputs are found through the serialised tree, and
    // those without an alias are reported without a name.
    assert_eq!(
        derived("CREATE TABLE t AS SELECT salary AS pay, salary + 1 FROM staff"),
        [(None, vec!["c:salary".to_owned()]), one("pay", &["c:salary"])]
    );
    // A cursor's and a COPY's query are walked by hand: names as PostgreSQL gives them.
    assert_eq!(
        derived("DECLARE c CURSOR FOR SELECT salary + 1 FROM staff"),
        [one("?column?", &["c:salary"])]
    );
    assert_eq!(
        derived("COPY (SELECT id, salary * 2 FROM staff) TO STDOUT"),
        [one("?column?", &["c:salary"])]
    );
    assert_eq!(
        derived("SELECT sum(salary) OVER (PARTITION BY id) FROM staff"),
        [one("sum", &["c:id", "c:salary"])]
    );
}
