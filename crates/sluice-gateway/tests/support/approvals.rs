//! A gateway with an approvals broker: a throwaway PostgreSQL, a SQLite store with alice (group `dev`, who runs
//! statements) and bob (group `dba`, who decides reviews), the connection `pg-test`, and the PostgreSQL listener on
//! its own runtime. [`Options`] start several gateways on a shared PostgreSQL store, or deliver webhooks; the
//! policy (and so masking) is the caller's.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_approvals::webhook::WebhookTarget;
use sluice_approvals::{Broker, BrokerSettings};
use sluice_store::reviews::{Decide, Review, ReviewError, ReviewFilter, ReviewStatus};
use sluice_store::seal::MasterKey;
use sluice_store::{Actor, Store, User};
use sluice_testbed::postgres::Postgres;
use tempfile::TempDir;
use tokio::runtime::Runtime;

use super::raw::RawClient;

/// One gateway of the world, with its own broker (and store handle when there are several).
pub struct Gateway {
    pub addr: SocketAddr,
    pub broker: Arc<Broker>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Everything a scenario with reviews needs.
pub struct ApprovalsWorld {
    pub pg: Postgres,
    pub store: Store,
    /// Gateway `n` records under `dir/data{n}`.
    pub gateways: Vec<Gateway>,
    pub alice: (User, String),
    pub bob: User,
    pub dir: TempDir,
    pub runtime: Runtime,
}

/// How to start an [`ApprovalsWorld`] other than with one gateway on a SQLite store and no webhooks.
pub struct Options {
    policy: String,
    hold: Duration,
    gateways: usize,
    shared_pg_store: bool,
    webhooks: Vec<WebhookTarget>,
}

impl Options {
    /// `gateways` gateways on one store, each with its own store handle (pool) as separate processes would have;
    /// the store is a PostgreSQL of its own (so a decision reaches the other gateways by LISTEN/NOTIFY).
    pub fn gateways_sharing_a_pg_store(mut self, gateways: usize) -> Options {
        self.gateways = gateways;
        self.shared_pg_store = true;
        self
    }

    /// Review events are delivered to `webhooks`.
    pub fn webhooks(mut self, webhooks: Vec<WebhookTarget>) -> Options {
        self.webhooks = webhooks;
        self
    }

    pub fn start(self) -> ApprovalsWorld {
        let pg = Postgres::start().expect("throwaway PostgreSQL");
        let dir = tempfile::tempdir().unwrap();
        let runtime = super::runtime();
        let store_pg = self
            .shared_pg_store
            .then(|| Postgres::start().expect("throwaway PostgreSQL for the store"));
        let (store, alice, bob, gateways) = runtime.block_on(async {
            let open = || async {
                match &store_pg {
                    Some(server) => Store::open(&server.url()).await.unwrap(),
                    None => Store::open_sqlite_file(&dir.path().join("state.db"))
                        .await
                        .unwrap(),
                }
            };
            let store = open().await;
            let key = Arc::new(MasterKey::generate().unwrap());
            store.check_master_key(&key).await.unwrap();
            let alice = super::add_user_with_record(&store, "alice", &["dev"], None).await;
            let (bob, _) = super::add_user_with_record(&store, "bob", &["dba"], None).await;
            super::add_pg_test_connection(&store, &key, &pg, serde_json::json!({})).await;
            let mut gateways = Vec::new();
            for n in 0..self.gateways {
                let store = if n == 0 { store.clone() } else { open().await };
                let broker = Broker::new(
                    store.clone(),
                    BrokerSettings {
                        hold_timeout: self.hold,
                        // Slow polls: only the in-process wake-up or LISTEN/NOTIFY can release a hold quickly.
                        poll_interval: Duration::from_secs(30),
                        webhooks: self.webhooks.clone(),
                        ..BrokerSettings::default()
                    },
                );
                let recording = super::recording(&dir.path().join(format!("data{n}")));
                let mut deps = super::gateway_deps(&store, Arc::clone(&key), &self.policy, recording);
                deps.approvals = Some(Arc::clone(&broker));
                let (addr, stop) = super::serve(deps).await;
                gateways.push(Gateway {
                    addr,
                    broker,
                    _stop: stop,
                });
            }
            (store, alice, bob, gateways)
        });
        // Keep the store server alive as long as the world (and the gateways' pools that outlive it on drop).
        if let Some(server) = store_pg {
            std::mem::forget(server);
        }
        ApprovalsWorld {
            pg,
            store,
            gateways,
            alice,
            bob,
            dir,
            runtime,
        }
    }
}

impl ApprovalsWorld {
    /// Starts one gateway on a SQLite store under `policy`; a held statement waits at most `hold`.
    pub fn start(policy: &str, hold: Duration) -> ApprovalsWorld {
        ApprovalsWorld::options(policy, hold).start()
    }

    /// Like [`ApprovalsWorld::start`], with [`Options`] to change first.
    pub fn options(policy: &str, hold: Duration) -> Options {
        Options {
            policy: policy.to_owned(),
            hold,
            gateways: 1,
            shared_pg_store: false,
            webhooks: Vec::new(),
        }
    }

    /// The address of the first gateway.
    pub fn addr(&self) -> SocketAddr {
        self.gateways[0].addr
    }

    /// alice's raw-protocol session through the gateway.
    pub fn raw(&self) -> RawClient {
        RawClient::connect(self.addr(), "alice", "pg-test", &self.alice.1)
    }

    /// alice's tokio-postgres client through the first gateway.
    pub fn client(&self) -> tokio_postgres::Client {
        self.runtime
            .block_on(super::pg_client(self.addr(), "alice", &self.alice.1))
    }

    /// Reviews in `status` (all when `None`), newest first as the store lists them.
    pub fn reviews(&self, status: Option<ReviewStatus>) -> Vec<Review> {
        self.runtime
            .block_on(self.store.list_reviews(&ReviewFilter {
                status,
                ..ReviewFilter::default()
            }))
            .unwrap()
    }

    /// Waits (up to 20 s) for a pending review other than those in `seen`.
    pub fn next_pending(&self, seen: &[&str]) -> Review {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let pending = self.reviews(Some(ReviewStatus::Pending));
            if let Some(r) = pending.into_iter().find(|r| !seen.contains(&r.id.as_str())) {
                return r;
            }
            assert!(Instant::now() < deadline, "no new review appeared");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `who` decides review `id` through gateway `gateway`'s broker.
    pub fn decide_as(&self, gateway: usize, who: &User, id: &str, decide: Decide) -> Result<(), ReviewError> {
        let actor = Actor {
            user_id: Some(who.id),
            name: who.name.clone(),
            address: None,
        };
        self.runtime
            .block_on(self.gateways[gateway].broker.decide(&actor, id, decide))
            .map(|_| ())
    }

    /// bob decides review `id`.
    pub fn decide(&self, id: &str, decide: Decide) {
        self.decide_as(0, &self.bob, id, decide).unwrap();
    }

    pub fn approve(&self, id: &str) {
        self.decide(id, Decide::Approve { comment: None });
    }

    pub fn deny(&self, id: &str, reason: &str) {
        self.decide(
            id,
            Decide::Deny {
                reason: reason.into(),
            },
        );
    }

    /// The result of `sql` run directly on the target (not through the gateway), trimmed.
    pub fn on_target(&self, sql: &str) -> String {
        self.pg.query(sql).unwrap().trim().to_owned()
    }

    /// The text of every recording file of every gateway (at least one must exist).
    pub fn recordings(&self) -> String {
        let files: Vec<PathBuf> = (0..self.gateways.len())
            .flat_map(|n| super::files_under(&self.dir.path().join(format!("data{n}"))))
            .collect();
        assert!(!files.is_empty(), "no recording written");
        files
            .iter()
            .map(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned())
            .collect()
    }
}
