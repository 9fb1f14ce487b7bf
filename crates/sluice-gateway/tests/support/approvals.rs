//! A gateway with an approvals broker: a throwaway PostgreSQL, a SQLite store with alice (group `dev`, who runs
//! statements) and bob (group `dba`, who decides reviews), the connection `pg-test`, and the PostgreSQL listener on
//! its own runtime.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_approvals::{Broker, BrokerSettings};
use sluice_gateway::pg::PgListener;
use sluice_gateway::{GatewayDeps, PgSettings, RecordingSettings};
use sluice_model::Secret;
use sluice_policy::Policy;
use sluice_record::{SyncPolicy, WriterOptions};
use sluice_store::reviews::{Decide, Review, ReviewFilter, ReviewStatus};
use sluice_store::seal::MasterKey;
use sluice_store::{Actor, Store, User};
use sluice_testbed::postgres::Postgres;
use tempfile::TempDir;
use tokio::runtime::Runtime;

use super::raw::RawClient;

/// Everything a scenario with reviews needs.
pub struct ApprovalsWorld {
    pub pg: Postgres,
    pub store: Store,
    pub broker: Arc<Broker>,
    pub addr: SocketAddr,
    pub alice: (User, String),
    pub bob: User,
    pub dir: TempDir,
    pub runtime: Runtime,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl ApprovalsWorld {
    /// Starts everything under `policy`; a held statement waits at most `hold`.
    pub fn start(policy: &str, hold: Duration) -> ApprovalsWorld {
        let pg = Postgres::start().expect("throwaway PostgreSQL");
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let policy = Policy::from_toml(policy).unwrap();
        let (store, broker, addr, alice, bob, stop) = runtime.block_on(async {
            let store = Store::open_sqlite_file(&dir.path().join("state.db"))
                .await
                .unwrap();
            let key = Arc::new(MasterKey::generate().unwrap());
            store.check_master_key(&key).await.unwrap();
            let alice = super::add_user_with_record(&store, "alice", &["dev"], None).await;
            let (bob, _) = super::add_user_with_record(&store, "bob", &["dba"], None).await;
            super::add_pg_test_connection(&store, &key, &pg, serde_json::json!({})).await;
            let broker = Broker::new(
                store.clone(),
                BrokerSettings {
                    hold_timeout: hold,
                    poll_interval: Duration::from_secs(30),
                    ..BrokerSettings::default()
                },
            );
            let (publish, policy) = tokio::sync::watch::channel(Arc::new(policy));
            std::mem::forget(publish);
            let mut recording = RecordingSettings::new(dir.path().join("data"));
            recording.writer = WriterOptions {
                sync: SyncPolicy::OnFlush,
                ..WriterOptions::default()
            };
            let deps = GatewayDeps {
                store: store.clone(),
                master_key: Arc::clone(&key),
                client_tls: None,
                target_tls: None,
                policy,
                recording,
                mask_hash_key: Secret::new(vec![7u8; 32]),
                pg: PgSettings {
                    allow_loopback_cleartext: true,
                    drain_timeout: Duration::from_secs(2),
                    ..PgSettings::default()
                },
                oidc: None,
                approvals: Some(Arc::clone(&broker)),
            };
            let listener = PgListener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(deps))
                .await
                .unwrap();
            let addr = listener.local_addr().unwrap();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(listener.serve(async move {
                let _ = stopped.await;
            }));
            (store, broker, addr, alice, bob, stop)
        });
        ApprovalsWorld {
            pg,
            store,
            broker,
            addr,
            alice,
            bob,
            dir,
            runtime,
            _stop: stop,
        }
    }

    /// alice's raw-protocol session through the gateway.
    pub fn raw(&self) -> RawClient {
        RawClient::connect(self.addr, "alice", "pg-test", &self.alice.1)
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

    /// bob decides review `id`.
    pub fn decide(&self, id: &str, decide: Decide) {
        let actor = Actor {
            user_id: Some(self.bob.id),
            name: self.bob.name.clone(),
            address: None,
        };
        self.runtime
            .block_on(self.broker.decide(&actor, id, decide))
            .unwrap();
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
}
