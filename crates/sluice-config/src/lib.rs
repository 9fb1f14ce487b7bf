//! sluice-config (being built).
