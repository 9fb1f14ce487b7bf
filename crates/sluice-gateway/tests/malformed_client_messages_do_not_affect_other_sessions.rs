//! Garbage and oversized messages from one client end that client's session with an error; a concurrent
//! session carries on untouched.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{Read as _, Write as _};

use std::net::TcpStream;
use std::time::Duration;
use support::wire::{login, read_until};

use support::Harness;

#[test]
fn malformed_and_oversized_messages_get_an_error_and_do_not_affect_another_session() {
    let h = Harness::start();
    h.runtime.block_on(async {
        let healthy = h.client().await;
        let in_flight = healthy.query_one("SELECT pg_sleep(1), 1", &[]);

        // Garbage type byte after startup.
        let mut bad = login(&h);
        bad.write_all(b"\x01garbage").unwrap();
        let answer = read_until(&mut bad, b'E');
        assert_eq!(answer.first(), Some(&b'E'));
        assert!(String::from_utf8_lossy(&answer).contains("08P01"));

        // A Query claiming 2 GiB-ish length.
        let mut huge = login(&h);
        huge.write_all(&[b'Q', 0x7f, 0xff, 0xff, 0xff]).unwrap();
        let answer = read_until(&mut huge, b'E');
        assert!(
            String::from_utf8_lossy(&answer).contains("exceeds the limit"),
            "{}",
            String::from_utf8_lossy(&answer)
        );

        // Garbage instead of a startup packet.
        let mut raw = TcpStream::connect(h.addr).unwrap();
        raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        raw.write_all(&[0xff; 64]).unwrap();
        let mut sink = Vec::new();
        let _ = raw.read_to_end(&mut sink);

        let row = in_flight.await.unwrap();
        assert_eq!(row.get::<_, i32>(1), 1);
        let again: i32 = healthy.query_one("SELECT 2", &[]).await.unwrap().get(0);
        assert_eq!(again, 2);
    });
}
