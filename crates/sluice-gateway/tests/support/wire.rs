//! Raw-protocol helpers for scenarios that need to misbehave like no real driver would.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use super::Harness;

/// Opens a plain connection and logs in as alice (loopback cleartext is allowed by the harness).
pub fn login(h: &Harness) -> TcpStream {
    let mut s = TcpStream::connect(h.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut startup = Vec::new();
    startup.extend_from_slice(&196_608i32.to_be_bytes());
    for (k, v) in [("user", "alice"), ("database", "pg-test")] {
        startup.extend_from_slice(k.as_bytes());
        startup.push(0);
        startup.extend_from_slice(v.as_bytes());
        startup.push(0);
    }
    startup.push(0);
    let mut packet = ((startup.len() + 4) as i32).to_be_bytes().to_vec();
    packet.extend_from_slice(&startup);
    s.write_all(&packet).unwrap();
    read_until(&mut s, b'R');
    let mut pw = vec![b'p'];
    pw.extend_from_slice(&((h.token.len() + 5) as i32).to_be_bytes());
    pw.extend_from_slice(h.token.as_bytes());
    pw.push(0);
    s.write_all(&pw).unwrap();
    read_until(&mut s, b'Z');
    s
}

/// Reads messages until one with type `tag`; returns everything read.
pub fn read_until(s: &mut TcpStream, tag: u8) -> Vec<u8> {
    let mut all = Vec::new();
    loop {
        let mut head = [0u8; 5];
        if s.read_exact(&mut head).is_err() {
            return all;
        }
        let len = i32::from_be_bytes(head[1..5].try_into().unwrap()) as usize;
        let mut body = vec![0u8; len - 4];
        s.read_exact(&mut body).unwrap();
        all.extend_from_slice(&head);
        all.extend_from_slice(&body);
        if head[0] == tag {
            return all;
        }
    }
}
