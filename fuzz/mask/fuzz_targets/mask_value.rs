//! Masks arbitrary text as a result cell (with several column names) and as a JSON document: never a panic, and
//! content-only masking of a cell equals masking the same text as free text.
//!
//! Input layout: byte 0 = column choice, rest = the value (invalid UTF-8 is replaced, as a text cell would be).

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sluice_mask::{ColumnMask, ColumnRule, MaskConfig, MaskStyle, Masker};

const COLUMNS: &[Option<&str>] = &[None, Some("notes"), Some("email"), Some("password"), Some("card_number"), Some("secret_ref")];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else { return };
    static MASKER: OnceLock<Option<Masker>> = OnceLock::new();
    let masker = MASKER.get_or_init(|| {
        let config = MaskConfig {
            columns: vec![ColumnRule { table: "*".into(), column: "secret_*".into(), style: MaskStyle::Hash }],
            ..MaskConfig::default()
        };
        Masker::new(&config, b"fuzz-hash-key-0123456789").ok()
    });
    let Some(masker) = masker else { return };
    let value = String::from_utf8_lossy(rest);
    let column = COLUMNS[usize::from(choice) % COLUMNS.len()];

    let masked = masker.mask_value(Some("t"), column, &value);
    if masker.column_mask(Some("t"), column) == ColumnMask::Detect {
        assert_eq!(masked, masker.mask_text(&value));
    }
    let _ = masker.mask_json(rest);
});
