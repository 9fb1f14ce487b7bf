//! Values as PostgreSQL sends them in binary format, and a default masker, for the binary maskers' unit tests.

#![allow(clippy::unwrap_used)]

use bytes::{BufMut as _, Bytes, BytesMut};
use sluice_mask::{MaskConfig, Masker};

/// The default masking configuration (every detector on).
pub(super) fn masker() -> Masker {
    Masker::new(&MaskConfig::default(), &[]).unwrap()
}

/// A one-dimensional array as `array_send` writes it.
pub(super) fn array(element_type: u32, elements: &[Option<&[u8]>]) -> Bytes {
    let mut out = BytesMut::new();
    out.put_i32(1);
    out.put_i32(i32::from(elements.iter().any(Option::is_none)));
    out.put_u32(element_type);
    out.put_i32(i32::try_from(elements.len()).unwrap());
    out.put_i32(1);
    for element in elements {
        super::put_value(&mut out, *element, 0).unwrap();
    }
    out.freeze()
}

/// A row as `record_send` writes it: the field count, then each field's type, length and bytes.
pub(super) fn row(fields: &[(u32, Option<&[u8]>)]) -> Bytes {
    let mut out = BytesMut::new();
    out.put_i32(i32::try_from(fields.len()).unwrap());
    for (oid, value) in fields {
        out.put_u32(*oid);
        super::put_value(&mut out, *value, 0).unwrap();
    }
    out.freeze()
}
