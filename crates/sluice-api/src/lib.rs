//! sluice-api (being built).
