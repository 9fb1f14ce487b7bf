//! sluice-approvals: just-in-time approvals shared by every proxy.
//!
//! - [`Broker`]: a proxy that must hold a statement [`Broker::submit`]s a review and waits on the [`Ticket`];
//!   approvers decide through [`Broker::decide`] (REST API), which wakes the waiter in this process at once and
//!   in other gateways through the store (PostgreSQL `LISTEN/NOTIFY`, or a short poll on SQLite). An approval
//!   that comes after the hold timed out grants one later execution of that exact statement
//!   ([`Broker::use_grant`]).
//! - Time-bound access requests ([`Broker::request_access`], [`Broker::decide_access`]).
//! - Webhooks ([`webhook`]): signed JSON or Slack-compatible payloads, retried with backoff and logged; they run
//!   on their own tasks, so a failing receiver never blocks or loses a review. Global webhooks get every event;
//!   webhooks of scope `policy` get the review and access events the active policy routes to them by name
//!   ([`webhook::WebhookRoutes`], set with [`Broker::set_routes`]).
//! - [`statement`]: normalised text, hash and justification of a held statement (pure).
//!
//! The rules of deciding (no self-approval, approver groups, finality, audit) live in `sluice-store`, inside the
//! deciding transaction.

mod broker;
mod delivery;
pub mod statement;
pub mod webhook;

pub use broker::{Broker, BrokerSettings, Outcome, Ticket};
