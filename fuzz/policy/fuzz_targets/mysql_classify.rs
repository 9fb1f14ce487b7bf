//! Fuzzes the MySQL classifier under each SQL mode that changes lexing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_policy::sql::mysql::{classify, MysqlOptions};

#[path = "invariants.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if let Ok(sql) = std::str::from_utf8(rest) {
        let options = MysqlOptions { no_backslash_escapes: mode & 1 != 0, ansi_quotes: mode & 2 != 0 };
        let classified = classify(sql, &options);
        invariants::check(sql, &classified);
    }
});
