//! sluice-policy: decides, for every statement or command that crosses the gateway, whether it is allowed, denied,
//! held for approval, or allowed with masking.
//!
//! Pure and synchronous: time, identity and connection are passed in; no globals, no I/O (DESIGN.md §3).
//! Classifiers turn a request into [`facts::Classified`] facts; rules turn facts into a decision.
//!
//! ```
//! use sluice_policy::{Policy, Subject, Target, Decision};
//! use sluice_model::Protocol;
//!
//! let policy = Policy::from_toml(r#"
//!     [[ruleset]]
//!     name = "production"
//!     connections = ["prod-*"]
//!
//!     [[ruleset.rule]]
//!     name = "no-drop"
//!     guardrail = "drop_objects"
//!     action = "deny"
//! "#).unwrap();
//! let alice = Subject { user: "alice".into(), groups: vec!["developers".into()] };
//! let prod = Target { connection: "prod-db".into(), protocol: Protocol::Postgres, tags: vec![], read_only: false };
//! let decision = policy.decide_pg(&alice, &prod, "SELECT 1; DROP TABLE users", std::time::SystemTime::now());
//! assert!(matches!(decision, Decision::Deny { item_index: 1, .. }));
//! ```

pub mod error;
pub mod facts;
pub mod k8s;
pub mod mask_plan;
pub mod policy;
pub mod shell;
pub mod sql;

pub use error::{PolicyError, Problem};
pub use policy::{Decision, Guardrail, Policy, Subject, Target};
