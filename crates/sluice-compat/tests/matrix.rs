//! The real-client compatibility matrix: every driver runs the whole scenario (compat/README.md) and the harness
//! judges its step reports against the target's expectations.
//!
//! `direct`: against a throwaway PostgreSQL, as an unprivileged role (PostgreSQL itself refuses the DROP with 42501; the
//! card number comes back raw). This proves the scripts and the harness.
//! `gateway`: the same clients through sluice-gateway's PostgreSQL listener in this process, logged in with a sluice
//! token over TLS; the gateway logs in to PostgreSQL as the superuser, so the 42501 can only come from its guardrail,
//! and the card number must come back masked.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use sluice_compat::clients::ScriptClient;
use sluice_compat::endpoint::{CardExpectation, DropExpectation};
use sluice_compat::report::{ScenarioReport, INSUFFICIENT_PRIVILEGE, QUERY_CANCELED};
use sluice_compat::target::{Target, TargetMode};

/// The checks every mode makes on top of [`ScenarioReport::check`], spelled out so a reader sees the issue's
/// requirements as assertions.
fn assert_scenario(target: &Target, report: &ScenarioReport) {
    if let Err(err) = report.check(target.expectations()) {
        panic!("{err}");
    }
    let drop = report.step("drop_table").expect("a drop_table step");
    if target.expectations().drop == DropExpectation::Refused {
        assert_eq!(drop.sqlstate.as_deref(), Some(INSUFFICIENT_PRIVILEGE), "{drop:?}");
    }
    let card = report.step("masked_card").expect("a masked_card step");
    let expected_detail = match target.expectations().card {
        CardExpectation::Masked => "masked",
        CardExpectation::Raw => "raw value returned",
    };
    assert_eq!(card.detail, expected_detail, "{card:?}");
    let cancel = report.step("cancel").expect("a cancel step");
    assert_eq!(cancel.sqlstate.as_deref(), Some(QUERY_CANCELED), "{cancel:?}");
    let usable = report.step("after_cancel").expect("an after_cancel step");
    assert!(usable.pass, "{usable:?}");
    // The refused DROP never reached PostgreSQL (through the gateway, PostgreSQL would have executed it).
    let victim = target
        .postgres()
        .query("SELECT to_regclass('compat_victim') IS NOT NULL")
        .unwrap();
    assert_eq!(victim, "t", "compat_victim was dropped");
}

fn script_scenario(client: ScriptClient, mode: TargetMode) {
    let target = support::target(mode);
    let report = client
        .run(target.endpoint(), target.expectations())
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(report.client, client.name());
    assert_scenario(&target, &report);
}

async fn tokio_postgres_scenario(mode: TargetMode) {
    let target = tokio::task::spawn_blocking(move || support::target(mode))
        .await
        .unwrap();
    let report = sluice_compat::tokio_pg::run(target.endpoint(), target.expectations())
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_scenario(&target, &report);
    tokio::task::spawn_blocking(move || drop(target)).await.unwrap();
}

mod direct {
    use super::*;

    #[test]
    fn psycopg_runs_the_whole_scenario_against_postgres_directly() {
        script_scenario(ScriptClient::Psycopg, TargetMode::Direct);
    }

    #[test]
    fn node_postgres_runs_the_whole_scenario_against_postgres_directly() {
        script_scenario(ScriptClient::NodePostgres, TargetMode::Direct);
    }

    #[test]
    fn pgjdbc_runs_the_whole_scenario_against_postgres_directly() {
        script_scenario(ScriptClient::PgJdbc, TargetMode::Direct);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tokio_postgres_runs_the_whole_scenario_against_postgres_directly() {
        tokio_postgres_scenario(TargetMode::Direct).await;
    }
}

mod gateway {
    use super::*;

    #[test]
    fn psycopg_runs_the_whole_scenario_through_the_gateway() {
        script_scenario(ScriptClient::Psycopg, TargetMode::Gateway);
    }

    #[test]
    fn node_postgres_runs_the_whole_scenario_through_the_gateway() {
        script_scenario(ScriptClient::NodePostgres, TargetMode::Gateway);
    }

    #[test]
    fn pgjdbc_runs_the_whole_scenario_through_the_gateway() {
        script_scenario(ScriptClient::PgJdbc, TargetMode::Gateway);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tokio_postgres_runs_the_whole_scenario_through_the_gateway() {
        tokio_postgres_scenario(TargetMode::Gateway).await;
    }
}

/// The harness's TLS set-up is real: a client that verifies the server's certificate against the endpoint's root
/// connects, the server sees the session encrypted, and the whole scenario passes that way too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_postgres_verifies_the_direct_servers_certificate_with_verify_full() {
    let target = tokio::task::spawn_blocking(|| support::target(TargetMode::Direct))
        .await
        .unwrap();
    let mut endpoint = target.endpoint().clone();
    endpoint.sslmode = sluice_compat::endpoint::SslMode::VerifyFull;
    let client = sluice_compat::tokio_pg::connect(&endpoint)
        .await
        .unwrap()
        .unwrap_or_else(|err| panic!("verify-full connect: {err}"));
    let row = client
        .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "the session is not encrypted");
    let report = sluice_compat::tokio_pg::run(&endpoint, target.expectations())
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_scenario(&target, &report);
    tokio::task::spawn_blocking(move || drop(target)).await.unwrap();
}
