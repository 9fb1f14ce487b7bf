//! The real-client compatibility matrix for sluice's PostgreSQL gateway, and the driver of `bench/pg`.
//!
//! One scenario (select, insert, prepared statements, a refused DROP, a masked card number, COPY in and out, a
//! transaction rolled back after a refusal, cancel of a long `pg_sleep`) is written once per client: psycopg 3,
//! node-postgres and pgJDBC as scripts under `compat/`, tokio-postgres here in [`tokio_pg`]. Every client reports one
//! [`report::StepReport`] per step; [`report::ScenarioReport::check`] judges them against the
//! [`endpoint::Expectations`] independently of the clients' own verdicts. psql and pgbench are driven by the tests.
//!
//! A [`target::Target`] is where the clients connect: a throwaway PostgreSQL directly (the baseline that proves the
//! harness and the scripts), or the sluice gateway in front of it ([`gateway::Gateway`], sluice-gateway's PostgreSQL
//! listener in this process), where the DROP must be refused by the gateway and the card number must come back
//! masked.

pub mod clients;
pub mod endpoint;
pub mod error;
pub mod gateway;
mod random;
pub mod report;
mod server_tls;
pub mod target;
mod tls;
pub mod tokio_pg;

pub use error::CompatError;
