//! Fuzz the client-side decoder (startup and normal phases).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sluice_wire_pg_fuzz::check_frontend(data);
});
