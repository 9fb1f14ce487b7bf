//! sluice: the composition root. [`gateway`] assembles and runs the gateway process; [`cli`] is the command line,
//! whose subcommands other than `gateway` are clients of the REST API; [`connect`] is the local PostgreSQL relay of
//! `sluice connect`.

pub mod cli;
pub mod connect;
pub mod gateway;
pub mod oidc_setup;
