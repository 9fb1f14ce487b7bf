//! sluice-identity (being built).
