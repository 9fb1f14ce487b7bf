//! The extended protocol: prepared statements work, a refused Parse fails with 42501, the rest of its batch is
//! skipped to the Sync as PostgreSQL does, and the session carries on.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::Harness;

#[test]
fn prepared_statements_work_and_a_refused_parse_is_an_error_the_session_survives() {
    let h = Harness::start();
    h.pg.query("CREATE TABLE items (id int, name text)").unwrap();
    h.runtime.block_on(async {
        let client = h.client().await;
        let insert = client.prepare("INSERT INTO items VALUES ($1, $2)").await.unwrap();
        for i in 0..5i32 {
            client
                .execute(&insert, &[&i, &format!("item {i}")])
                .await
                .unwrap();
        }
        let select = client
            .prepare("SELECT name FROM items WHERE id = $1")
            .await
            .unwrap();
        let row = client.query_one(&select, &[&3i32]).await.unwrap();
        assert_eq!(row.get::<_, String>(0), "item 3");

        let err = client.prepare("DROP TABLE items").await.unwrap_err();
        let db = err.as_db_error().expect("a database error");
        assert_eq!(
            db.code(),
            &tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE
        );
        assert!(db.message().contains("no-drop"), "{}", db.message());

        // Pipelined: several queries in flight at once, one of them refused.
        let (a, b, c) = tokio::join!(
            client.query_one(&select, &[&1i32]),
            client.query("DROP TABLE items", &[]),
            client.query_one(&select, &[&2i32]),
        );
        assert_eq!(a.unwrap().get::<_, String>(0), "item 1");
        assert!(b.is_err());
        assert_eq!(c.unwrap().get::<_, String>(0), "item 2");
        // The earlier statements are still usable.
        let n: i64 = client
            .query_one("SELECT count(*) FROM items", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 5);
    });

    assert_eq!(h.pg.query("SELECT count(*) FROM items").unwrap(), "5");
}
