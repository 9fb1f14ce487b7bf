//! The hasher of the per-session maps on the data path (judgements by text and template, statement texts seen,
//! prepared statements and portals by name).
//!
//! The standard library's SipHash-1-3 cost about 2% of the gateway's instructions per `pgbench -S` transaction
//! (callgrind, bench/README.md): three to four texts of 50-100 bytes are hashed per statement. foldhash is several
//! times cheaper on short keys. It is seeded at random per process and per map, so a client cannot aim collisions
//! without the seed; and these maps are bounded and private to one session, so a client that still managed to
//! collide keys would slow only its own session.

use std::collections::{HashMap, HashSet};

/// The seeded hasher builder of those maps.
pub(crate) type FastState = foldhash::fast::RandomState;
/// A per-session map on the data path.
pub(crate) type FastMap<K, V> = HashMap<K, V, FastState>;
/// A per-session set on the data path.
pub(crate) type FastSet<K> = HashSet<K, FastState>;
