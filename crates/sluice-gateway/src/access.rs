//! Ending running sessions whose access is withdrawn: the user is disabled (or deleted), the token the session
//! logged in with is revoked, or the time-bound access grant that admitted it ends.
//!
//! Access is checked at login; this is what makes `sluice user disable` and `sluice token revoke` reach sessions
//! that are already open, on every gateway sharing the store. The store is re-read every [`RECHECK_INTERVAL`] (two
//! indexed lookups per session), and a grant's end is a timer. A store that cannot be read keeps the session going
//! and is logged: the session was authorised, and dropping every session on a brief store outage would turn a
//! degraded store into an outage of all access.
//!
//! A session's natural token expiry does not end it, as a PostgreSQL password expiring does not end open sessions;
//! revocation does.

use std::time::Duration;

use sluice_model::{TokenId, UserId};
use sluice_store::Store;
use time::OffsetDateTime;

/// How often a running session's user and token are re-read.
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(5);

/// Why a session's access was withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawn {
    /// The user was disabled or deleted.
    UserDisabled,
    /// The token the session logged in with was revoked.
    TokenRevoked,
    /// The time-bound access grant that admitted the session ended.
    GrantEnded,
}

impl Withdrawn {
    /// A client-safe sentence.
    pub fn describe(self) -> &'static str {
        match self {
            Withdrawn::UserDisabled => "the user was disabled by an administrator",
            Withdrawn::TokenRevoked => "the token this session logged in with was revoked",
            Withdrawn::GrantEnded => {
                "the temporary access grant has ended (ask again with `sluice request access`)"
            }
        }
    }
}

/// What a session was admitted with.
#[derive(Debug, Clone, Copy)]
pub struct Admission {
    /// The user.
    pub user: UserId,
    /// The sluice token used, when the login used one that lives in the store (provider tokens do not).
    pub token: Option<TokenId>,
    /// The end of the access grant that admitted the session, if a grant did rather than a group.
    pub grant_until: Option<OffsetDateTime>,
}

/// Resolves when the session's access is withdrawn; never resolves while it stands.
pub async fn withdrawn(store: Store, admission: Admission) -> Withdrawn {
    let grant_end = async {
        match admission.grant_until {
            Some(until) => {
                let left = (until - OffsetDateTime::now_utc()).max(time::Duration::ZERO);
                tokio::time::sleep(Duration::try_from(left).unwrap_or_default()).await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(grant_end);
    let mut interval = tokio::time::interval(RECHECK_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate; login has just checked, so skip it.
    interval.tick().await;
    loop {
        tokio::select! {
            () = &mut grant_end => return Withdrawn::GrantEnded,
            _ = interval.tick() => {}
        }
        if let Some(reason) = check(&store, admission).await {
            return reason;
        }
    }
}

async fn check(store: &Store, admission: Admission) -> Option<Withdrawn> {
    match store.user_by_id(admission.user).await {
        Ok(None) => return Some(Withdrawn::UserDisabled),
        Ok(Some(user)) if user.disabled => return Some(Withdrawn::UserDisabled),
        Ok(Some(_)) => {}
        Err(error) => {
            tracing::warn!(%error, "cannot re-check a running session's user; keeping the session");
            return None;
        }
    }
    let token = admission.token?;
    match store.token_by_id(token).await {
        Ok(Some(info)) if info.revoked_at.is_some() => Some(Withdrawn::TokenRevoked),
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(%error, "cannot re-check a running session's token; keeping the session");
            None
        }
    }
}
