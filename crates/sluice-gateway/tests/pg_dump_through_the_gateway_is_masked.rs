//! `pg_dump` through the gateway: a user dumps a database they may read, with the client they already have, and
//! the dump holds the schema as it is and the data as masked as any query's result: in the COPY form (the data
//! streamed by `COPY ... TO stdout`) and in the INSERT form (`--inserts`: rows fetched from a cursor). The
//! recording holds no card number either.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::process::{Command, Output};

use support::{stderr, stdout, Harness, CARD};

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
    let out = pg_dump(&h, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dump = stdout(&out);
    assert!(dump.contains("CREATE TABLE public.customers ("), "{dump}");
    assert!(dump.contains("CREATE VIEW public.customer_ids AS"), "{dump}");
    assert!(
        dump.contains("COPY public.customers (id, email, card, note) FROM stdin;"),
        "{dump}"
    );
    assert!(!dump.contains(CARD), "a card number reached the dump:\n{dump}");
    assert!(
        !dump.contains(EMAIL),
        "an e-mail address reached the dump:\n{dump}"
    );
    assert!(dump.contains("************1111"), "{dump}");
    assert!(dump.contains("2\t\\N\t\\N\tnone"), "{dump}");

    // The INSERT form: rows fetched through a cursor, masked by column as any result.
    let out = pg_dump(&h, &["--data-only", "--inserts", "--table", "customers"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dump = stdout(&out);
    assert!(
        dump.contains("INSERT INTO public.customers VALUES (1, "),
        "{dump}"
    );
    assert!(
        dump.contains("INSERT INTO public.customers VALUES (2, NULL, NULL, 'none');"),
        "{dump}"
    );
    assert!(!dump.contains(CARD), "a card number reached the dump:\n{dump}");
    assert!(
        !dump.contains(EMAIL),
        "an e-mail address reached the dump:\n{dump}"
    );
    assert!(dump.contains("************1111"), "{dump}");

    let raw = h.recordings_text();
    assert!(
        raw.contains("COPY public.customers (id, email, card, note) TO stdout"),
        "the COPY is recorded"
    );
    assert!(!raw.contains(CARD), "a card number reached a recording");
    assert!(!raw.contains(EMAIL), "an e-mail address reached a recording");
}
