//! The store suite (`suite/`) on SQLite and on a throwaway PostgreSQL, plus tests of each backend's failure modes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod failures;
mod suite;

use sluice_store::{Backend, Store};
use sluice_testbed::postgres::Postgres;

/// A store and what keeps its database alive (a temp dir or a server); fields drop in order, so the pool closes
/// before the server stops.
struct TestStore {
    store: Store,
    _database: Box<dyn std::any::Any + Send>,
}

async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_file(&dir.path().join("data").join("state.db"))
        .await
        .unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    TestStore {
        store,
        _database: Box::new(dir),
    }
}

async fn postgres() -> TestStore {
    let server = tokio::task::spawn_blocking(Postgres::start)
        .await
        .unwrap()
        .unwrap();
    let store = Store::open(&server.url()).await.unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    TestStore {
        store,
        _database: Box::new(server),
    }
}

/// Instantiates every suite test for one backend, in a module named after it.
macro_rules! suite {
    ($backend:ident: $($test:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $test() {
                    let test_store = super::$backend().await;
                    crate::suite::$test(&test_store.store).await;
                }
            )*
        }
    };
}

macro_rules! suite_on_both_backends {
    ($($test:ident),* $(,)?) => {
        suite!(sqlite: $($test),*);
        suite!(postgres: $($test),*);
    };
}

suite_on_both_backends!(
    users_are_created_found_listed_and_audited,
    a_duplicate_user_name_is_a_conflict_and_leaves_no_audit_row,
    a_failed_audit_write_rolls_back_the_change,
    changing_an_unknown_user_is_not_found_and_not_audited,
    disabling_and_regrouping_a_user_is_stored_and_audited,
    a_token_is_found_by_its_hash_together_with_its_owner,
    the_owners_disabled_flag_reaches_the_token_lookup,
    a_token_for_an_unknown_user_is_refused_without_side_effects,
    revoking_a_token_keeps_the_first_time_and_is_audited,
    tokens_are_listed_for_everyone_or_for_one_user,
    touching_a_token_records_its_use_at_most_once_a_minute,
    connections_round_trip_with_their_sealed_credential,
    a_duplicate_connection_name_is_a_conflict_and_leaves_no_audit_row,
    replacing_a_connections_options_is_stored_and_audited,
    updating_a_connection_keeps_its_identity_and_audits_the_change_without_the_credential,
    deleting_a_connection_removes_it_and_an_unknown_name_is_not_found,
    policies_are_versioned_and_the_newest_is_active,
    the_audit_log_filters_by_actor_action_and_time_newest_first,
    bootstrap_creates_the_admin_and_token_only_once,
    concurrent_bootstraps_create_exactly_one_admin,
    bootstrap_does_nothing_when_users_already_exist,
    the_master_key_check_is_recorded_once_and_refuses_another_key,
    racing_master_key_checks_with_different_keys_let_exactly_one_key_win,
    ping_answers_and_debug_names_only_the_backend,
    a_session_is_opened_bumped_and_closed_without_audit_rows,
    closing_twice_keeps_the_first_close_and_late_bumps_change_nothing,
    a_session_can_end_in_error_without_a_final_hash,
    open_sessions_are_those_not_closed_yet_oldest_first,
    unknown_sessions_are_not_found_and_a_reused_id_is_a_conflict,
    a_malformed_final_hash_is_refused_and_the_session_stays_open,
    sessions_list_newest_first_filtered_by_user_connection_and_time,
    ssh_keys_are_added_found_by_fingerprint_listed_and_removed_with_audit,
    a_fingerprint_belongs_to_one_user_and_unknown_users_get_no_keys,
    the_first_host_key_pin_wins_and_dies_with_its_connection,
);
