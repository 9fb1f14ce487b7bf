//! sluice-gateway: the session runtime and the protocol proxies (being built).
