//! Fuzzes the PostgreSQL classifier: never panics, always returns well-formed facts.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "invariants.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| {
    if let Ok(sql) = std::str::from_utf8(data) {
        let classified = sluice_policy::sql::pg::classify(sql);
        invariants::check(sql, &classified);
    }
});
