//! Fuzzes the shell command-line classifier.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "invariants.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        let classified = sluice_policy::shell::classify(line);
        invariants::check(line, &classified);
    }
});
