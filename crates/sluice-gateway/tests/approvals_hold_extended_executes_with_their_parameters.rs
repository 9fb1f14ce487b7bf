//! Just-in-time approvals for extended-protocol executions, with tokio-postgres through the gateway: preparing a
//! statement the policy sends to review runs nothing and holds nothing; each execution (Bind) is held with its
//! parameter values in the review (a card number masked, binary values by size, NULL as NULL), runs exactly as
//! approved, and a second execution with other values is a new review; a denial gives the client the refusal and
//! the session stays usable (a transaction block fails like PostgreSQL's); a pipelined Parse/Bind/Execute/Sync is
//! held at its Bind; a late approval grants that one execution, not one with other values; the recording has the
//! approvals and no card number.
//!
//! Needs the PostgreSQL server binaries (Debian package `postgresql`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use sluice_approvals::statement;
use sluice_store::reviews::ReviewStatus;
use tokio_postgres::types::{to_sql_checked, Format, IsNull, ToSql, Type};

use support::approvals::ApprovalsWorld;
use support::CARD;

const POLICY: &str = r#"
[[ruleset]]
name = "test databases"
connections = ["pg-*"]

[[ruleset.rule]]
name = "review-deletes"
statements = ["DELETE"]
action = "review"
approvers = ["dba"]

[ruleset.mask]
default_style = "partial"
"#;

const DELETE: &str = "DELETE FROM cards WHERE number = $1 OR id = $2";

/// A parameter sent in text format (tokio-postgres sends its own types in binary).
#[derive(Debug)]
struct AsText<'a>(&'a str);

impl ToSql for AsText<'_> {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// A world under [`POLICY`] whose target has `cards` with rows 1 ([`CARD`]), 2 (another card number) and 3.
fn world(hold: Duration) -> ApprovalsWorld {
    let w = ApprovalsWorld::start(POLICY, hold);
    w.pg.query(&format!(
        "CREATE TABLE cards (id int, number text); \
         INSERT INTO cards VALUES (1, '{CARD}'), (2, '5500005555555559'), (3, 'none');"
    ))
    .unwrap();
    w
}

/// The ids of the rows left, read directly on the target.
fn ids(w: &ApprovalsWorld) -> String {
    w.on_target("SELECT string_agg(id::text, ',' ORDER BY id) FROM cards")
}

fn db_message(error: &tokio_postgres::Error) -> (String, String) {
    let db = error
        .as_db_error()
        .unwrap_or_else(|| panic!("not an ErrorResponse: {error}"));
    (db.code().code().to_owned(), db.message().to_owned())
}

#[test]
fn each_execution_of_a_reviewed_prepared_statement_is_held_with_its_parameters() {
    let w = world(Duration::from_secs(60));
    let client = Arc::new(w.client());

    // Preparing runs nothing: no hold, no review.
    let stmt = w.runtime.block_on(client.prepare(DELETE)).unwrap();
    assert!(w.reviews(None).is_empty(), "preparing alone created a review");

    // First execution: a card number as text and NULL. Held with both values; the card number masked.
    let (c, s) = (Arc::clone(&client), stmt.clone());
    let first = w
        .runtime
        .spawn(async move { c.execute(&s, &[&AsText(CARD), &None::<i32>]).await });
    let r1 = w.next_pending(&[]);
    assert_eq!(r1.request.statement, DELETE);
    assert_eq!(r1.request.rule, "review-deletes");
    let params = &r1.request.parameters;
    assert_eq!(params.len(), 2, "{params:?}");
    let card_shown = params[0].as_deref().expect("the card number is shown, masked");
    assert!(!card_shown.contains(CARD), "stored in clear: {card_shown}");
    assert!(
        card_shown.ends_with("1111"),
        "partial masking keeps the last digits: {card_shown}"
    );
    assert_eq!(params[1], None, "NULL");
    assert_ne!(r1.request.statement_hash, statement::statement_hash(DELETE));
    assert_eq!(ids(&w), "1,2,3", "nothing ran while held");
    w.approve(&r1.id);
    let deleted = w
        .runtime
        .block_on(first)
        .unwrap()
        .expect("the approved execution ran");
    assert_eq!(
        deleted, 1,
        "exactly that execution: the row with that card number"
    );
    assert_eq!(ids(&w), "2,3");

    // Second execution of the same statement with other values: a new review, its own hash; denied.
    let (c, s) = (Arc::clone(&client), stmt.clone());
    let second = w
        .runtime
        .spawn(async move { c.execute(&s, &[&AsText("nothing"), &3i32]).await });
    let r2 = w.next_pending(&[&r1.id]);
    assert_eq!(
        r2.request.parameters,
        [Some("nothing".to_owned()), Some("<binary, 4 bytes>".to_owned())]
    );
    assert_ne!(r2.request.statement_hash, r1.request.statement_hash);
    w.deny(&r2.id, "keep row 3");
    let error = w
        .runtime
        .block_on(second)
        .unwrap()
        .expect_err("a denied execution ran");
    let (code, message) = db_message(&error);
    assert_eq!(code, "42501");
    assert!(
        message.contains(&format!("review {} was denied by bob: keep row 3", r2.id)),
        "{message}"
    );
    assert_eq!(ids(&w), "2,3");

    // The session stays usable, the prepared statement too; a denial inside a transaction block fails the block
    // like any error would, and ROLLBACK recovers.
    let count: i64 = w
        .runtime
        .block_on(client.query_one("SELECT count(*) FROM cards", &[]))
        .unwrap()
        .get(0);
    assert_eq!(count, 2);
    w.runtime.block_on(client.batch_execute("BEGIN")).unwrap();
    let (c, s) = (Arc::clone(&client), stmt.clone());
    let in_block = w
        .runtime
        .spawn(async move { c.execute(&s, &[&AsText("x"), &2i32]).await });
    let r3 = w.next_pending(&[&r1.id, &r2.id]);
    w.deny(&r3.id, "no");
    assert!(w.runtime.block_on(in_block).unwrap().is_err());
    let aborted = w
        .runtime
        .block_on(client.query_one("SELECT 1", &[]))
        .expect_err("the block is aborted");
    assert_eq!(db_message(&aborted).0, "25P02", "in_failed_sql_transaction");
    w.runtime.block_on(client.batch_execute("ROLLBACK")).unwrap();
    w.runtime
        .block_on(client.query_one("SELECT 1", &[]))
        .expect("usable after ROLLBACK");

    // Closing the statement forgets it; preparing it again holds its executions again.
    drop(stmt);
    let stmt = w.runtime.block_on(client.prepare(DELETE)).unwrap();
    let (c, s) = (Arc::clone(&client), stmt.clone());
    let again = w
        .runtime
        .spawn(async move { c.execute(&s, &[&AsText("none"), &None::<i32>]).await });
    let r4 = w.next_pending(&[&r1.id, &r2.id, &r3.id]);
    w.approve(&r4.id);
    assert_eq!(w.runtime.block_on(again).unwrap().unwrap(), 1);
    assert_eq!(ids(&w), "2");

    // The recording has every approval and never the card number in clear.
    drop(client);
    std::thread::sleep(Duration::from_millis(300));
    let recorded = w.recordings();
    for id in [&r1.id, &r2.id, &r3.id, &r4.id] {
        assert!(recorded.contains(id.as_str()), "approval {id} not recorded");
    }
    assert!(!recorded.contains(CARD), "a card number was recorded in clear");
}

#[test]
fn a_pipelined_parse_bind_execute_sync_is_held_at_its_bind() {
    let w = world(Duration::from_secs(60));
    let client = Arc::new(w.client());

    // query_typed sends Parse/Bind/Describe/Execute/Sync at once (unnamed statement, binary int).
    let c = Arc::clone(&client);
    let denied = w.runtime.spawn(async move {
        c.query_typed(
            "DELETE FROM cards WHERE id = $1 RETURNING id",
            &[(&1i32, Type::INT4)],
        )
        .await
    });
    let r1 = w.next_pending(&[]);
    assert_eq!(
        r1.request.statement,
        "DELETE FROM cards WHERE id = $1 RETURNING id"
    );
    assert_eq!(r1.request.parameters, [Some("<binary, 4 bytes>".to_owned())]);
    w.deny(&r1.id, "not this one");
    let error = w.runtime.block_on(denied).unwrap().expect_err("denied");
    assert!(db_message(&error).1.contains("denied by bob: not this one"));
    assert_eq!(ids(&w), "1,2,3");

    // Two pipelined executions: the second waits behind the first's hold, then is held on its own.
    let (c1, c2) = (Arc::clone(&client), Arc::clone(&client));
    let both = w.runtime.spawn(async move {
        let one = c1.query_typed(
            "DELETE FROM cards WHERE id = $1 RETURNING id",
            &[(&AsText("2"), Type::INT4)],
        );
        let two = c2.query_typed(
            "DELETE FROM cards WHERE id = $1 RETURNING id",
            &[(&AsText("3"), Type::INT4)],
        );
        tokio::join!(one, two)
    });
    let r2 = w.next_pending(&[&r1.id]);
    assert_eq!(r2.request.parameters, [Some("2".to_owned())]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        w.reviews(Some(ReviewStatus::Pending)).len(),
        1,
        "one hold at a time"
    );
    w.approve(&r2.id);
    let r3 = w.next_pending(&[&r1.id, &r2.id]);
    assert_eq!(r3.request.parameters, [Some("3".to_owned())]);
    assert_eq!(ids(&w), "1,3", "the first ran when approved");
    w.deny(&r3.id, "keep 3");
    let (one, two) = w.runtime.block_on(both).unwrap();
    let one: i32 = one.unwrap()[0].get(0);
    assert_eq!(one, 2);
    assert!(two.is_err());
    assert_eq!(ids(&w), "1,3");
    // Still usable.
    w.runtime.block_on(client.query_typed("SELECT 1", &[])).unwrap();
}

#[test]
fn a_late_approval_grants_exactly_that_execution_once() {
    let w = world(Duration::from_secs(2));
    let client = w.client();
    let stmt = w.runtime.block_on(client.prepare(DELETE)).unwrap();
    let error = w
        .runtime
        .block_on(client.execute(&stmt, &[&AsText("none"), &2i32]))
        .expect_err("not decided in time");
    let (code, message) = db_message(&error);
    assert_eq!(code, "57014");
    assert!(message.contains("was not decided within 2s"), "{message}");
    let late = w.reviews(None);
    assert_eq!(late.len(), 1);
    w.approve(&late[0].id);

    // Other values: not granted, held again (and timed out).
    let other = w
        .runtime
        .block_on(client.execute(&stmt, &[&AsText("none"), &1i32]));
    assert!(other.is_err());
    assert_eq!(w.reviews(None).len(), 2, "a new review for other values");
    assert_eq!(ids(&w), "1,2,3");

    // The same values: run at once under the grant, once.
    let started = Instant::now();
    let ran = w
        .runtime
        .block_on(client.execute(&stmt, &[&AsText("none"), &2i32]))
        .expect("granted");
    assert!(started.elapsed() < Duration::from_secs(1), "no new hold");
    assert_eq!(ran, 2, "rows 2 and 3 ('none')");
    assert_eq!(ids(&w), "1");
    let granted = w
        .runtime
        .block_on(w.store.review_by_id(&late[0].id))
        .unwrap()
        .unwrap();
    assert!(granted.grant_used_at.is_some());
}
