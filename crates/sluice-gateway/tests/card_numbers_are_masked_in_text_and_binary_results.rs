//! Card numbers never reach the client: text format (psql), binary format (tokio-postgres), JSON and jsonb,
//! and error messages that echo them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::{stderr, stdout, Harness, CARD};

#[test]
fn card_numbers_are_masked_in_text_and_binary_results() {
    let h = Harness::start();
    h.pg.query(&format!(
        "CREATE TABLE payments (id int PRIMARY KEY, note text, card varchar(40), doc jsonb, j json);
         INSERT INTO payments VALUES (1, 'paid with {CARD}', '{CARD}', '{{\"card\": \"{CARD}\"}}', '{{\"card\": \"{CARD}\"}}')"
    ))
    .unwrap();

    let out = h.psql(&["-c", "SELECT id, note, card, doc, j FROM payments"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains(CARD), "card number leaked in text format: {text}");
    assert!(text.starts_with("1|paid with "), "{text}");
    assert!(
        text.contains("1111"),
        "partial masking keeps the last digits: {text}"
    );

    h.runtime.block_on(async {
        let client = h.client().await;
        let row = client
            .query_one("SELECT id, note, card, doc::text, j::text FROM payments", &[])
            .await
            .unwrap();
        for i in 1..5 {
            let v: String = row.get(i);
            assert!(!v.contains(CARD), "card number leaked in binary column {i}: {v}");
        }
        // jsonb in binary format keeps its version byte and stays valid JSON after masking.
        let doc: String = client
            .query_one("SELECT doc::text FROM payments", &[])
            .await
            .unwrap()
            .get(0);
        let parsed: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert!(parsed.get("card").is_some());
        // An error that echoes the value is masked too.
        let err = client
            .execute(&format!("INSERT INTO payments VALUES (1, 'dup', '{CARD}')"), &[])
            .await
            .unwrap_err();
        let db = err.as_db_error().unwrap();
        assert!(!db.detail().unwrap_or_default().contains(CARD) && !db.message().contains(CARD));
        // Rows are still the same shape: same number of rows and columns.
        let rows = client.query("SELECT * FROM payments", &[]).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].len(), 5);
    });
}

#[test]
fn arrays_in_binary_format_are_masked_element_by_element() {
    let h = Harness::start();
    h.pg.query(&format!(
        "CREATE TABLE wallets (id int PRIMARY KEY, cards text[], names varchar[]);
         INSERT INTO wallets VALUES (1, ARRAY['{CARD}', NULL, 'no card here'], ARRAY['ann', 'paid with {CARD}'])"
    ))
    .unwrap();
    h.runtime.block_on(async {
        // tokio-postgres asks for every column in binary format.
        let client = h.client().await;
        let row = client
            .query_one("SELECT cards, names FROM wallets", &[])
            .await
            .unwrap();
        let cards: Vec<Option<String>> = row.get(0);
        let names: Vec<String> = row.get(1);
        assert_eq!(
            cards,
            [
                Some("************1111".to_owned()),
                None,
                Some("no card here".to_owned())
            ]
        );
        assert_eq!(names, ["ann", "paid with ************1111"]);
        // An integer array holding a card number cannot be masked in place: the session fails closed.
        let err = client
            .query_one(&format!("SELECT ARRAY[1, {CARD}]::bigint[]"), &[])
            .await
            .unwrap_err();
        assert!(!err.to_string().contains(CARD), "{err}");
        assert!(client.is_closed() || client.simple_query("SELECT 1").await.is_err());
    });
    // psql (text format) sees the same masked array.
    let out = h.psql(&["-c", "SELECT cards FROM wallets"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "{************1111,NULL,\"no card here\"}");
    let raw = h.recordings_text();
    assert!(!raw.contains(CARD), "a card number reached a recording");
    assert!(raw.contains("************1111"));
}

#[test]
fn numbers_in_binary_format_holding_a_card_number_fail_closed() {
    let h = Harness::start();
    h.runtime.block_on(async {
        for sql in [
            format!("SELECT {CARD}::numeric"),
            format!("SELECT {CARD}::float8"),
            format!("SELECT {CARD}::bigint"),
            format!("SELECT ARRAY[1.5, {CARD}]::numeric[]"),
            format!("SELECT ARRAY[{CARD}]::float8[]"),
        ] {
            // A binary number cannot carry a masked value: the session ends instead of delivering it.
            let client = h.client().await;
            let err = client.query(sql.as_str(), &[]).await.unwrap_err();
            assert!(!err.to_string().contains(CARD), "{sql}: {err}");
            assert_eq!(
                err.as_db_error().map(|e| e.code().code()),
                Some("0A000"),
                "{sql}: {err}"
            );
            // Other numbers pass untouched.
            let client = h.client().await;
            let row = client
                .query_one("SELECT 12.50::numeric::text, 2.5::float8, 7::bigint", &[])
                .await
                .unwrap();
            assert_eq!(row.get::<_, String>(0), "12.50");
            assert_eq!(row.get::<_, f64>(1), 2.5);
            assert_eq!(row.get::<_, i64>(2), 7);
        }
    });
}

/// A value's bytes as the driver received them: tokio-postgres has no Rust type for a table's row type or an
/// enum, and the test wants to see exactly what crossed the wire.
struct Raw(Vec<u8>);

impl<'a> tokio_postgres::types::FromSql<'a> for Raw {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn rows_and_user_defined_types_in_binary_format_are_masked_or_fail_closed() {
    let h = Harness::start();
    h.pg.query(&format!(
        "CREATE TABLE orders (id int PRIMARY KEY, card text, note text);
         INSERT INTO orders VALUES (1, '{CARD}', 'paid, thanks');
         CREATE TYPE state AS ENUM ('active', '{CARD}')"
    ))
    .unwrap();
    h.runtime.block_on(async {
        let client = h.client().await;
        // A table's row type (its OID is the database's own) and an anonymous record: masked field by field.
        for sql in [
            "SELECT o FROM orders o",
            "SELECT ROW(o.id, o.card, o.note) FROM orders o",
            // An array of anonymous rows (`record[]`): element by element, then field by field.
            "SELECT ARRAY[ROW(o.id, o.card, o.note)] FROM orders o",
        ] {
            let row = client.query_one(sql, &[]).await.unwrap();
            let Raw(bytes) = row.get(0);
            assert!(!contains(&bytes, CARD), "{sql}: a card number reached the client");
            assert!(contains(&bytes, "************1111"), "{sql}");
            assert!(contains(&bytes, "paid, thanks"), "{sql}");
        }
        // An array of the table's row type (its array type is the database's own too): row by row.
        let row = client
            .query_one("SELECT array_agg(o) FROM orders o", &[])
            .await
            .unwrap();
        let Raw(bytes) = row.get(0);
        assert!(
            !contains(&bytes, CARD),
            "array_agg(o): a card number reached the client"
        );
        assert!(contains(&bytes, "************1111"), "array_agg(o)");
        assert!(contains(&bytes, "paid, thanks"), "array_agg(o)");
        // xml is text on the wire too: masked in place.
        let row = client
            .query_one(&format!("SELECT xmlparse(content '<c>{CARD}</c>')"), &[])
            .await
            .unwrap();
        let Raw(bytes) = row.get(0);
        assert_eq!(bytes, b"<c>************1111</c>");
        // Another type the database defined (an enum) passes when it holds nothing sensitive...
        let row = client.query_one("SELECT 'active'::state", &[]).await.unwrap();
        let Raw(bytes) = row.get(0);
        assert_eq!(bytes, b"active");
        let row = client
            .query_one("SELECT ARRAY['active'::state, 'active'::state]", &[])
            .await
            .unwrap();
        let Raw(bytes) = row.get(0);
        assert!(contains(&bytes, "active"));
        // ... and, holding a card number, cannot be rewritten in its binary form: the session fails closed. So
        // does an array of that enum holding it, and a text search value holding one (its words are in an encoding
        // of their own). Each ends its session: a fresh one per case.
        for sql in [
            format!("SELECT '{CARD}'::state"),
            format!("SELECT ARRAY['active'::state, '{CARD}'::state]"),
            format!("SELECT to_tsvector('simple', 'card {CARD}')"),
        ] {
            let client = h.client().await;
            let err = client.query_one(&sql, &[]).await.unwrap_err();
            assert!(!err.to_string().contains(CARD), "{sql}: {err}");
            assert_eq!(
                err.as_db_error().map(|e| e.code().code()),
                Some("0A000"),
                "{sql}: {err}"
            );
        }
    });
    // psql (text format) sees the same masked row.
    let out = h.psql(&["-c", "SELECT o FROM orders o"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "(1,************1111,\"paid, thanks\")");
    let raw = h.recordings_text();
    assert!(!raw.contains(CARD), "a card number reached a recording");
    assert!(raw.contains("(1,************1111,\\\"paid, thanks\\\")"), "{raw}");
    // The enum's label is recorded as the text it is, the array of rows row by row.
    assert!(raw.contains("{active,active}"), "{raw}");
    assert!(
        raw.contains("{\\\"(1,************1111,\\\\\\\"paid, thanks\\\\\\\")\\\"}"),
        "{raw}"
    );
}
