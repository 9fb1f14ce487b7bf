//! A client that vanishes in the middle of COPY FROM STDIN leaves nothing behind on the target, and the gateway
//! keeps serving.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::Write as _;
use std::time::Duration;

use support::wire::{login, read_until};
use support::{stdout, Harness};

#[test]
fn client_disappearing_mid_copy_leaves_no_partial_data() {
    let h = Harness::start();
    h.pg.query("CREATE TABLE landing (id int)").unwrap();
    let mut s = login(&h);
    let sql = b"COPY landing FROM STDIN\0";
    let mut query = vec![b'Q'];
    query.extend_from_slice(&((sql.len() + 4) as i32).to_be_bytes());
    query.extend_from_slice(sql);
    s.write_all(&query).unwrap();
    let answer = read_until(&mut s, b'G');
    assert_eq!(answer.first(), Some(&b'G'), "COPY IN started");
    for i in 0..100 {
        let line = format!("{i}\n");
        let mut data = vec![b'd'];
        data.extend_from_slice(&((line.len() + 4) as i32).to_be_bytes());
        data.extend_from_slice(line.as_bytes());
        s.write_all(&data).unwrap();
    }
    drop(s);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(h.pg.query("SELECT count(*) FROM landing").unwrap(), "0");
    let out = h.psql(&["-c", "SELECT 'still serving'"]);
    assert_eq!(stdout(&out), "still serving\n");
}
