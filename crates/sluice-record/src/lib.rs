//! sluice-record (being built).
