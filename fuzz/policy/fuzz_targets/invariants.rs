//! Invariants every classifier's output must satisfy for any input, shared by the fuzz targets.

use sluice_policy::facts::{Category, Classified, Kind};

/// Panics (which the fuzzer reports) if the classification is malformed: spans out of bounds or not on character
/// boundaries, indexes out of order, opaque items without an opaque finding.
pub fn check(text: &str, classified: &Classified) {
    for (position, item) in classified.items.iter().enumerate() {
        assert_eq!(item.index, position, "items are numbered in order");
        assert!(text.get(item.span.clone()).is_some(), "item span {:?} is not a slice of the input", item.span);
        for finding in &item.findings {
            assert!(text.get(finding.span.clone()).is_some(), "finding span {:?} is not a slice", finding.span);
        }
        if item.kind == Kind::Opaque {
            assert!(item.findings.iter().any(|f| f.category == Category::Opaque), "opaque item without finding");
        }
    }
}
