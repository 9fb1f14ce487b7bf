//! Just-in-time approvals for named prepared statements, at their edges, with a raw-protocol client that chooses
//! statement names (drivers cannot):
//!
//! * a name under review prepared again (pipelined during the hold, or after a SQL `DEALLOCATE`) makes its Binds
//!   refused with 42501, without a review, until the client closes the name; then it works as usual;
//! * a session keeps at most 10,000 prepared statements under review: the Parse beyond is refused with 42501 (the
//!   statement never exists on the target, so nothing can bind it unreviewed) while those already prepared stay
//!   held and a Close makes room;
//! * a Bind pipelined after a Parse the target rejects is not held (the gateway asks the target for the Parse's
//!   answer first) and the name is forgotten; a reviewed Parse skipped after an earlier error in its batch cannot be
//!   answered before the Sync, so its Bind is held (the safe side) and the name is forgotten at the Sync.
//!
//! Every check of what ran reads the table on the target directly. Needs the PostgreSQL server binaries.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use sluice_wire_pg::{BackendMessage, TransactionStatus};
use support::approvals::ApprovalsWorld;
use support::raw::{bind, close_statement, encode, execute, kind, parse, sync};

const POLICY: &str = r#"
[[ruleset]]
name = "test databases"
connections = ["pg-*"]

[[ruleset.rule]]
name = "review-deletes"
statements = ["DELETE"]
action = "review"
approvers = ["dba"]
"#;

const DELETE_ONE: &str = "DELETE FROM items WHERE id = $1";

/// The gateway's refusal of a Bind whose name was prepared again (`messages::ambiguous_statement_refusal`).
const PREPARED_AGAIN: &str = "was prepared again while a statement under review had that name";

fn world() -> ApprovalsWorld {
    let w = ApprovalsWorld::start(POLICY, Duration::from_secs(60));
    w.pg.query("CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 5);")
        .unwrap();
    w
}

/// The ids left in `items`, read on the target.
fn ids(w: &ApprovalsWorld) -> String {
    w.on_target("SELECT string_agg(id::text, ',' ORDER BY id) FROM items")
}

#[test]
fn a_name_prepared_again_refuses_its_binds_until_the_client_closes_it() {
    let w = world();
    let mut c = w.raw();

    // Prepared again while its Bind is held: the second Parse waits in the buffer behind the hold.
    c.send(&[
        parse("s1", DELETE_ONE),
        bind("s1", &["1"]),
        execute(),
        sync(),
        parse("s1", "DELETE FROM items WHERE id > $1"),
        sync(),
    ]);
    let r1 = w.next_pending(&[]);
    assert_eq!(r1.request.statement, DELETE_ONE);
    assert_eq!(r1.request.parameters, [Some("1".to_owned())]);
    assert_eq!(ids(&w), "1,2,3,4,5", "nothing ran while held");
    w.approve(&r1.id);
    let first = c.until_ready();
    assert_eq!(
        first.kinds(),
        ["ParseComplete", "BindComplete", "CommandComplete DELETE 1"]
    );
    assert_eq!(first.status, TransactionStatus::Idle);
    assert!(
        first.notice_texts().iter().any(|n| n.contains(&r1.id)),
        "{:?}",
        first.notice_texts()
    );
    // PostgreSQL itself refuses the duplicate name.
    let again = c.until_ready();
    assert_eq!(again.error().0, "42P05", "duplicate_prepared_statement");
    assert_eq!(again.status, TransactionStatus::Idle);
    assert_eq!(ids(&w), "2,3,4,5");

    // Which text a Bind of s1 runs is now unknown to the gateway: refused, no review, nothing runs (had the
    // second text won, `id > 0` would empty the table).
    let refused = c.batch(&[bind("s1", &["0"]), execute()]);
    let (code, message) = refused.error();
    assert_eq!(code, "42501");
    assert!(message.contains(&format!("\"s1\" {PREPARED_AGAIN}")), "{message}");
    assert_eq!(refused.kinds(), ["Error 42501"], "no BindComplete, no rows");
    assert_eq!(refused.status, TransactionStatus::Idle);
    assert_eq!(w.reviews(None).len(), 1, "no review for an ambiguous name");
    assert_eq!(ids(&w), "2,3,4,5");

    // Inside a transaction block the refusal fails the block, like any error.
    assert_eq!(c.simple("BEGIN").status, TransactionStatus::InTransaction);
    let in_block = c.batch(&[bind("s1", &["0"]), execute()]);
    assert_eq!(in_block.error().0, "42501");
    assert_eq!(in_block.status, TransactionStatus::Failed);
    assert_eq!(c.simple("ROLLBACK").status, TransactionStatus::Idle);

    // The session is usable.
    let count = c.simple("SELECT count(*) FROM items");
    assert_eq!(
        count.kinds(),
        ["RowDescription count", "DataRow 4", "CommandComplete SELECT 1"]
    );

    // Close forgets the name; a fresh Parse is held at its Bind as usual and runs when approved.
    let closed = c.batch(&[close_statement("s1")]);
    assert_eq!(closed.kinds(), ["CloseComplete"]);
    c.send(&[parse("s1", DELETE_ONE), bind("s1", &["2"]), execute(), sync()]);
    let r2 = w.next_pending(&[&r1.id]);
    assert_eq!(r2.request.parameters, [Some("2".to_owned())]);
    w.approve(&r2.id);
    let fresh = c.until_ready();
    assert_eq!(
        fresh.kinds(),
        ["ParseComplete", "BindComplete", "CommandComplete DELETE 1"]
    );
    assert_eq!(ids(&w), "3,4,5");

    // Prepared again after a SQL DEALLOCATE: the target accepts the new text under the old name, so a Bind would
    // run a text no review showed. Refused without a review.
    assert_eq!(c.batch(&[parse("s2", DELETE_ONE)]).kinds(), ["ParseComplete"]);
    assert_eq!(c.simple("DEALLOCATE s2").kinds(), ["CommandComplete DEALLOCATE"]);
    let swapped = c.batch(&[parse("s2", "DELETE FROM items")]);
    assert_eq!(swapped.kinds(), ["ParseComplete"], "the target took the new text");
    let refused = c.batch(&[bind("s2", &[]), execute()]);
    let (code, message) = refused.error();
    assert_eq!(code, "42501");
    assert!(message.contains(&format!("\"s2\" {PREPARED_AGAIN}")), "{message}");
    assert_eq!(refused.status, TransactionStatus::Idle);
    assert_eq!(w.reviews(None).len(), 2, "no review for an ambiguous name");
    assert_eq!(ids(&w), "3,4,5", "the unreviewed DELETE did not run");
}

#[test]
fn the_reviewed_prepared_statement_beyond_the_cap_is_refused_and_nothing_escapes_review() {
    const CAP: usize = 10_000;
    let w = world();
    let mut c = w.raw();

    // CAP + 1 Parses of a statement under review, in one write from another thread while this one reads.
    let started = Instant::now();
    let mut pipeline: Vec<_> = (0..=CAP).map(|i| parse(&format!("s{i}"), DELETE_ONE)).collect();
    pipeline.push(sync());
    let bytes = encode(&pipeline);
    let mut writer = c.writer();
    let write = std::thread::spawn(move || writer.write_all(&bytes).unwrap());
    let answers = c.until_ready();
    write.join().unwrap();
    let parsed = answers
        .messages
        .iter()
        .filter(|m| matches!(m, BackendMessage::ParseComplete))
        .count();
    assert_eq!(parsed, CAP, "every Parse up to the cap is prepared");
    assert_eq!(
        answers.messages.last().map(kind).as_deref(),
        Some("Error 42501"),
        "the one beyond is the last answer"
    );
    let (code, message) = answers.error();
    assert_eq!(code, "42501");
    assert_eq!(
        message,
        "sluice: too many prepared statements that need approval are open in this session"
    );
    assert_eq!(answers.status, TransactionStatus::Idle);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(w.reviews(None).is_empty(), "preparing holds nothing");

    // The refused statement does not exist on the target: binding it fails there (no unreviewed run).
    let missing = c.batch(&[bind(&format!("s{CAP}"), &["1"]), execute()]);
    assert_eq!(missing.error().0, "26000", "invalid_sql_statement_name");
    assert_eq!(missing.status, TransactionStatus::Idle);

    // Statements that need no review are still prepared at the cap.
    let select = c.batch(&[
        parse("q", "SELECT count(*) FROM items"),
        bind("q", &[]),
        execute(),
    ]);
    assert_eq!(
        select.kinds(),
        [
            "ParseComplete",
            "BindComplete",
            "DataRow 5",
            "CommandComplete SELECT 1"
        ]
    );

    // Those prepared before the cap are still held at each Bind.
    c.send(&[bind("s0", &["1"]), execute(), sync()]);
    let r1 = w.next_pending(&[]);
    assert_eq!(r1.request.parameters, [Some("1".to_owned())]);
    w.deny(&r1.id, "not now");
    let denied = c.until_ready();
    assert_eq!(denied.error().0, "42501");
    assert!(denied.error().1.contains("denied by bob: not now"));
    assert_eq!(ids(&w), "1,2,3,4,5");

    // A Close makes room for one more.
    let room = c.batch(&[close_statement("s0"), parse(&format!("s{CAP}"), DELETE_ONE)]);
    assert_eq!(room.kinds(), ["CloseComplete", "ParseComplete"]);
    let beyond = c.batch(&[parse("one-more", DELETE_ONE)]);
    assert_eq!(beyond.error().0, "42501");
    assert_eq!(w.reviews(None).len(), 1);
    assert_eq!(ids(&w), "1,2,3,4,5");
}

#[test]
fn a_bind_after_a_parse_the_target_rejects_is_not_held_and_the_name_is_forgotten() {
    let w = world();
    let mut c = w.raw();

    // The policy sends the DELETE to review; PostgreSQL rejects its Parse (no such column). The pipelined Bind is
    // not held: the gateway learns the Parse failed (it asks the target with a Flush) and lets the target skip it.
    let broken = "DELETE FROM items WHERE no_such_column = $1";
    c.send(&[parse("s3", broken), bind("s3", &["1"]), execute(), sync()]);
    let failed = c.until_ready();
    assert_eq!(
        failed.kinds(),
        ["Error 42703"],
        "PostgreSQL's own error, nothing else"
    );
    assert_eq!(failed.status, TransactionStatus::Idle);
    assert!(
        w.reviews(None).is_empty(),
        "nobody is asked to approve a statement the target did not prepare"
    );
    assert_eq!(ids(&w), "1,2,3,4,5");

    // The failed Parse is forgotten: the corrected text under the same name is a fresh statement, held as usual.
    c.send(&[parse("s3", DELETE_ONE), bind("s3", &["1"]), execute(), sync()]);
    let r1 = w.next_pending(&[]);
    assert_eq!(r1.request.statement, DELETE_ONE);
    assert_eq!(r1.request.parameters, [Some("1".to_owned())]);
    w.approve(&r1.id);
    let ran = c.until_ready();
    assert_eq!(
        ran.kinds(),
        ["ParseComplete", "BindComplete", "CommandComplete DELETE 1"]
    );
    assert_eq!(ids(&w), "2,3,4,5");

    // The same for the unnamed statement.
    c.send(&[parse("", broken), bind("", &["2"]), execute(), sync()]);
    assert_eq!(c.until_ready().kinds(), ["Error 42703"]);
    assert_eq!(w.reviews(None).len(), 1, "still only the approved review");
    assert_eq!(ids(&w), "2,3,4,5");
}

#[test]
fn a_reviewed_parse_skipped_after_an_earlier_error_in_its_batch_is_held_safely_and_then_forgotten() {
    let w = world();
    let mut c = w.raw();

    // An earlier message of the batch fails (a Bind of a statement that does not exist), so the target skips the
    // reviewed Parse and answers nothing, not even the gateway's Flush, until the Sync the gateway still holds in
    // its buffer. The gateway cannot learn the outcome now, so it takes the safe side: the Bind is held.
    c.send(&[
        bind("nope", &[]),
        execute(),
        parse("s5", DELETE_ONE),
        bind("s5", &["2"]),
        execute(),
        sync(),
    ]);
    let r1 = w.next_pending(&[]);
    assert_eq!(r1.request.statement, DELETE_ONE);
    w.approve(&r1.id);
    let skipped = c.until_ready();
    assert_eq!(
        skipped.kinds(),
        ["Error 26000"],
        "the batch was skipped to its Sync"
    );
    assert_eq!(skipped.status, TransactionStatus::Idle);
    assert_eq!(
        ids(&w),
        "1,2,3,4,5",
        "the skipped statement did not run, approved or not"
    );

    // The skipped Parse is forgotten at the Sync: preparing s5 again is a fresh statement, not "prepared again".
    c.send(&[parse("s5", DELETE_ONE), bind("s5", &["2"]), execute(), sync()]);
    let r2 = w.next_pending(&[&r1.id]);
    w.approve(&r2.id);
    let ran = c.until_ready();
    assert_eq!(
        ran.kinds(),
        ["ParseComplete", "BindComplete", "CommandComplete DELETE 1"]
    );
    assert_eq!(ids(&w), "1,3,4,5");
}
