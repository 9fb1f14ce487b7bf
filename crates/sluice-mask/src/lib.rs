//! sluice-mask (being built).
