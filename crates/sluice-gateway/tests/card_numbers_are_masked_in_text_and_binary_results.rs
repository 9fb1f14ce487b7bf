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
