//! SQL classification, one real parser per dialect (DESIGN.md §3.3): never a dialect-agnostic regex.

pub mod mysql;
pub mod pg;
