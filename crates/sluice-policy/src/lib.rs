//! sluice-policy: decides, for every statement or command that crosses the gateway, whether it is allowed, denied,
//! held for approval, or allowed with masking.
//!
//! Pure and synchronous: time, identity and connection are passed in; no globals, no I/O (DESIGN.md §3).
//! Classifiers turn a request into [`facts::Classified`] facts; rules turn facts into a decision.

pub mod facts;
pub mod k8s;
pub mod shell;
pub mod sql;
