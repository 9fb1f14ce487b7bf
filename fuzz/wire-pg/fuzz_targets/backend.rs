//! Fuzz the server-side decoder (including the one-byte encryption answer).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sluice_wire_pg_fuzz::check_backend(data);
});
