//! Masking JSON documents (HTTP bodies): object keys act as column names, so `{"password": "x"}` and
//! `{"user": {"email": "a@b.co"}}` are masked by column rules and name heuristics as well as by content.

use std::borrow::Cow;

use serde_json::Value;

use crate::columns::ColumnMask;
use crate::masker::Masker;

impl Masker {
    /// Masks a JSON document. Documents that do not parse are masked as text. Returns the input unchanged
    /// (borrowed) when nothing is masked; otherwise the re-serialised document (compact, key order may change).
    pub fn mask_json<'a>(&self, doc: &'a [u8]) -> Cow<'a, [u8]> {
        let Ok(mut value) = serde_json::from_slice::<Value>(doc) else {
            return self.mask_bytes(doc);
        };
        if !self.mask_json_value(&mut value) {
            return Cow::Borrowed(doc);
        }
        match serde_json::to_vec(&value) {
            Ok(out) => Cow::Owned(out),
            // Serialising a `Value` cannot fail; if it ever did, fall back to masking the text.
            Err(_) => self.mask_bytes(doc),
        }
    }

    /// Masks a parsed JSON value in place; returns whether anything changed.
    pub fn mask_json_value(&self, value: &mut Value) -> bool {
        self.mask_json_node(value, ColumnMask::Detect)
    }

    fn mask_json_node(&self, value: &mut Value, mask: ColumnMask) -> bool {
        match value {
            Value::Object(map) => {
                let mut changed = false;
                for (key, child) in map.iter_mut() {
                    let child_mask = self.column_mask(None, Some(key));
                    changed |= self.mask_json_node(child, child_mask);
                }
                changed
            }
            Value::Array(items) => {
                let mut changed = false;
                for item in items.iter_mut() {
                    changed |= self.mask_json_node(item, mask);
                }
                changed
            }
            Value::String(s) => match self.mask_with(mask, s) {
                Cow::Borrowed(_) => false,
                Cow::Owned(masked) => {
                    *s = masked;
                    true
                }
            },
            Value::Number(n) => {
                // A card number or phone number stored as a JSON number is still one.
                let text = n.to_string();
                match self.mask_with(mask, &text) {
                    Cow::Borrowed(_) => false,
                    Cow::Owned(masked) => {
                        *value = Value::String(masked);
                        true
                    }
                }
            }
            Value::Bool(_) | Value::Null => false,
        }
    }
}
