//! sluice: the composition root. [`gateway`] assembles and runs the gateway process; [`cli`] is the command line,
//! whose subcommands other than `gateway` are clients of the REST API.

pub mod cli;
pub mod gateway;
