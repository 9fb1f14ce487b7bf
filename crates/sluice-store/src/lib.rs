//! sluice-store (being built).
