//! sluice-wire-pg (being built).
