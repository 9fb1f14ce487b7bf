//! sluice-testbed (being built).
