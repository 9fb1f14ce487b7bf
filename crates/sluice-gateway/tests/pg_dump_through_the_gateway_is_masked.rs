//! `pg_dump` through the gateway: a user dumps a database they may read, with the client they already have, and
//! the dump holds the schema as it is and the data as masked as any query's result: in the COPY form (the data
//! streamed by `COPY ... TO stdout`) and in the INSERT form (`--inserts`: rows fetched from a cursor). The
//! recording holds no card number either. And on a connection under the `read_only` guardrail — the one a backup
//! job or an auditor is given — pg_dump works from its first statement to its last.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::process::{Command, Output};

use support::{stderr, stdout, Harness, CARD, READ_ONLY_POLICY};

const EMAIL: &str = "jane.doe@example.com";

fn pg_dump(h: &Harness, args: &[&str]) -> Output {
    Command::new("pg_dump")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PGPASSWORD", &h.token)
        .args(["-w", "-d", &h.conninfo("alice", "pg-test", "require")])
        .args(args)
        .output()
        .expect("pg_dump runs (Debian package postgresql-client)")
}

/// Runs pg_dump, which must succeed, and returns the dump.
fn dumped(h: &Harness, args: &[&str]) -> String {
    let out = pg_dump(h, args);
    assert!(out.status.success(), "pg_dump {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// The dump holds the customer's card number and e-mail address only masked.
fn assert_masked(dump: &str) {
    assert!(!dump.contains(CARD), "a card number reached the dump:\n{dump}");
    assert!(
        !dump.contains(EMAIL),
        "an e-mail address reached the dump:\n{dump}"
    );
    assert!(dump.contains("************1111"), "{dump}");
}

#[test]
fn pg_dump_through_the_gateway_is_masked() {
    let h = Harness::start();
    h.pg.query(&format!(
        "CREATE TABLE customers (id int PRIMARY KEY, email text, card text, note text);
         INSERT INTO customers VALUES (1, '{EMAIL}', '{CARD}', 'paid with {CARD}'), (2, NULL, NULL, 'none');
         CREATE VIEW customer_ids AS SELECT id FROM customers"
    ))
    .unwrap();

    // The COPY form (pg_dump's default).
    let dump = dumped(&h, &[]);
    assert!(dump.contains("CREATE TABLE public.customers ("), "{dump}");
    assert!(dump.contains("CREATE VIEW public.customer_ids AS"), "{dump}");
    assert!(
        dump.contains("COPY public.customers (id, email, card, note) FROM stdin;"),
        "{dump}"
    );
    assert_masked(&dump);
    assert!(dump.contains("2\t\\N\t\\N\tnone"), "{dump}");

    // The INSERT form: rows fetched through a cursor, masked by column as any result.
    let dump = dumped(&h, &["--data-only", "--inserts", "--table", "customers"]);
    assert!(
        dump.contains("INSERT INTO public.customers VALUES (1, "),
        "{dump}"
    );
    assert!(
        dump.contains("INSERT INTO public.customers VALUES (2, NULL, NULL, 'none');"),
        "{dump}"
    );
    assert_masked(&dump);

    let raw = h.recordings_text();
    assert!(
        raw.contains("COPY public.customers (id, email, card, note) TO stdout"),
        "the COPY is recorded"
    );
    assert!(!raw.contains(CARD), "a card number reached a recording");
    assert!(!raw.contains(EMAIL), "an e-mail address reached a recording");
}

#[test]
fn pg_dump_works_on_a_read_only_connection() {
    let h = Harness::start_with_policy(READ_ONLY_POLICY);
    h.pg.query(
        "CREATE TABLE staff (id int PRIMARY KEY, name text NOT NULL);
         INSERT INTO staff VALUES (1, 'ada'), (2, 'grace');
         CREATE VIEW staff_names AS SELECT name FROM staff",
    )
    .unwrap();
    for args in [&[][..], &["--inserts"][..]] {
        let dump = dumped(&h, args);
        assert!(dump.contains("CREATE TABLE public.staff ("), "{dump}");
        assert!(dump.contains("CREATE VIEW public.staff_names AS"), "{dump}");
        assert!(dump.contains("grace"), "{dump}");
    }
    // A parallel dump: the first session exports its snapshot, the workers import it.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("dump");
    let out = pg_dump(&h, &["-Fd", "-j", "2", "-f", target.to_str().unwrap()]);
    assert!(out.status.success(), "pg_dump -Fd -j 2: {}", stderr(&out));
    assert!(target.join("toc.dat").is_file());
    // The guardrail still holds in the same database.
    let out = h.psql(&["-c", "INSERT INTO staff VALUES (3, 'edsger')"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("reads-only"), "{}", stderr(&out));
}
