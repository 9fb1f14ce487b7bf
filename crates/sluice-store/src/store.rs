//! [`Store`]: the handle every other crate uses, and the choice of backend behind it.
//!
//! Each method forwards to the same-named operation of the backend module (see [`crate::backend`]); the SQL is
//! identical on both backends, the column types and connection settings are not.

use std::fmt;
use std::path::Path;

use sluice_model::{ConnectionId, SessionId, TokenId, UserId};
use sqlx::{PgPool, SqlitePool};
use time::OffsetDateTime;

use crate::backend::{postgres, sqlite};
use crate::records::{
    Actor, AuditEntry, AuditFilter, BootstrapToken, Connection, NewConnection, NewToken, NewUser,
    PolicyVersion, TokenInfo, User,
};
use crate::seal::MasterKey;
use crate::sessions::{NewSession, Session, SessionCounters, SessionFilter, SessionSummary};
use crate::ssh_keys::{HostKeyPin, NewSshKey, SshKey};
use crate::StoreError;
use sluice_identity::token::TokenHash;

/// Which database a [`Store`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Embedded SQLite file (or memory): the single-gateway default.
    Sqlite,
    /// A PostgreSQL server: state shared by several gateways.
    Postgres,
}

/// The state store. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl fmt::Debug for Store {
    /// Shows the backend only: the pool's connection options would include the PostgreSQL password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

/// Calls the backend operation `$op` with the pool of whichever backend this store uses.
macro_rules! dispatch {
    ($self:ident . $op:ident ( $($arg:expr),* $(,)? )) => {
        match &$self.pool {
            Pool::Sqlite(pool) => sqlite::$op(pool, $($arg),*).await,
            Pool::Postgres(pool) => postgres::$op(pool, $($arg),*).await,
        }
    };
}

impl Store {
    /// Opens (and migrates) the store at `url`:
    /// `sqlite:///abs/path/state.db` (file and parent directory created if missing), `sqlite::memory:`
    /// (tests), or `postgres://user:password@host:port/db`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let pool = if url.starts_with("sqlite:") {
            Pool::Sqlite(sqlite::connect_url(url).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Pool::Postgres(postgres::connect_url(url).await?)
        } else {
            return Err(StoreError::InvalidUrl(
                "expected sqlite:///path/to/state.db, sqlite::memory: or postgres://user@host/database",
            ));
        };
        Ok(Store { pool })
    }

    /// Opens (and migrates) the SQLite store in file `path`, creating it and its directory if missing.
    /// Prefer this to [`Store::open`] for paths: it needs no URL escaping.
    pub async fn open_sqlite_file(path: &Path) -> Result<Store, StoreError> {
        Ok(Store {
            pool: Pool::Sqlite(sqlite::connect_file(path).await?),
        })
    }

    /// Which backend this store runs on.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Checks the store answers (for health checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self.ping())
    }

    /// Closes every pooled connection and waits for them to finish; later calls fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    // ----- users -----

    /// Creates a user. A taken name is [`StoreError::Conflict`].
    pub async fn create_user(&self, actor: &Actor, new: NewUser) -> Result<User, StoreError> {
        dispatch!(self.create_user(actor, new))
    }

    /// The user with this name, if any.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        dispatch!(self.user_by_name(name))
    }

    /// The user with this id, if any.
    pub async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        dispatch!(self.user_by_id(id))
    }

    /// All users, by name.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        dispatch!(self.list_users())
    }

    /// Disables or re-enables a user. An unknown name is [`StoreError::NotFound`].
    pub async fn set_user_disabled(
        &self,
        actor: &Actor,
        name: &str,
        disabled: bool,
    ) -> Result<User, StoreError> {
        dispatch!(self.set_user_disabled(actor, name, disabled))
    }

    /// Replaces a user's groups. An unknown name is [`StoreError::NotFound`].
    pub async fn set_user_groups(
        &self,
        actor: &Actor,
        name: &str,
        groups: Vec<String>,
    ) -> Result<User, StoreError> {
        dispatch!(self.set_user_groups(actor, name, groups))
    }

    // ----- tokens -----

    /// Stores a new token's hash for an existing user (unknown user: [`StoreError::NotFound`]).
    pub async fn create_token(&self, actor: &Actor, new: NewToken) -> Result<TokenInfo, StoreError> {
        dispatch!(self.create_token(actor, new))
    }

    /// The authentication lookup: the token with this hash and its owner, in one indexed query.
    ///
    /// Expiry, revocation and the owner's `disabled` flag are returned, not checked: the caller decides.
    pub async fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<(TokenInfo, User)>, StoreError> {
        dispatch!(self.token_by_hash(hash))
    }

    /// The token with this id, if any.
    pub async fn token_by_id(&self, id: TokenId) -> Result<Option<TokenInfo>, StoreError> {
        dispatch!(self.token_by_id(id))
    }

    /// All tokens, or one user's, oldest first (revoked and expired ones included).
    pub async fn list_tokens(&self, user: Option<UserId>) -> Result<Vec<TokenInfo>, StoreError> {
        dispatch!(self.list_tokens(user))
    }

    /// Revokes a token (revoking twice keeps the first time). Unknown id: [`StoreError::NotFound`].
    pub async fn revoke_token(&self, actor: &Actor, id: TokenId) -> Result<TokenInfo, StoreError> {
        dispatch!(self.revoke_token(actor, id))
    }

    /// Records a use of the token at `at`, at most once a minute per token so the hot path rarely writes.
    /// Best effort: callers should log a failure and carry on. Not audited (it is not a change).
    pub async fn touch_token(&self, id: TokenId, at: OffsetDateTime) -> Result<(), StoreError> {
        dispatch!(self.touch_token(id, at))
    }

    // ----- connections -----

    /// Creates a connection. A taken name is [`StoreError::Conflict`].
    pub async fn create_connection(
        &self,
        actor: &Actor,
        new: NewConnection,
    ) -> Result<Connection, StoreError> {
        dispatch!(self.create_connection(actor, new))
    }

    /// The connection with this name, if any.
    pub async fn connection_by_name(&self, name: &str) -> Result<Option<Connection>, StoreError> {
        dispatch!(self.connection_by_name(name))
    }

    /// All connections, by name.
    pub async fn list_connections(&self) -> Result<Vec<Connection>, StoreError> {
        dispatch!(self.list_connections())
    }

    /// Replaces a connection's options (audited with the new ones). An unknown name is [`StoreError::NotFound`].
    /// Sessions opened afterwards use them; running ones keep what they started with.
    pub async fn set_connection_options(
        &self,
        actor: &Actor,
        name: &str,
        options: &serde_json::Value,
    ) -> Result<(), StoreError> {
        dispatch!(self.set_connection_options(actor, name, options))
    }

    /// Replaces a connection's host, port, login, database, groups and credential with those of `connection`
    /// (found by its name; id, protocol, options and creation time stay), audited with the names in `changed` and
    /// the new values (the credential by kind only), and returns the stored connection. An unknown name is
    /// [`StoreError::NotFound`]. Sessions opened afterwards use the new values; running ones keep theirs.
    pub async fn update_connection(
        &self,
        actor: &Actor,
        connection: Connection,
        changed: &[&str],
    ) -> Result<Connection, StoreError> {
        dispatch!(self.update_connection(actor, connection, changed))
    }

    /// Deletes a connection. An unknown name is [`StoreError::NotFound`].
    pub async fn delete_connection(&self, actor: &Actor, name: &str) -> Result<(), StoreError> {
        dispatch!(self.delete_connection(actor, name))
    }

    // ----- policies -----

    /// Stores a new policy version (already validated by the caller); it becomes the active one.
    pub async fn put_policy(&self, actor: &Actor, source: &str) -> Result<PolicyVersion, StoreError> {
        dispatch!(self.put_policy(actor, source))
    }

    /// The newest policy version, if any was ever stored.
    pub async fn active_policy(&self) -> Result<Option<PolicyVersion>, StoreError> {
        dispatch!(self.active_policy())
    }

    // ----- audit -----

    /// Audit entries matching `filter`, newest first.
    pub async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        dispatch!(self.list_audit(filter))
    }

    // ----- sessions -----

    /// Indexes a starting session. Not audited: the session's recording is its record. A reused id is
    /// [`StoreError::Conflict`].
    pub async fn open_session(&self, new: NewSession) -> Result<Session, StoreError> {
        dispatch!(self.open_session(new))
    }

    /// Stores a running session's counters (periodically, so a long session shows progress). A closed session
    /// keeps its final counters; an unknown id is [`StoreError::NotFound`].
    pub async fn bump_session(&self, id: SessionId, counters: SessionCounters) -> Result<(), StoreError> {
        dispatch!(self.bump_session(id, counters))
    }

    /// Records how a session ended and returns it. Closing twice keeps the first close; an unknown id is
    /// [`StoreError::NotFound`]; a final hash that is not 64 lower-case hex digits is [`StoreError::Invalid`].
    pub async fn close_session(&self, id: SessionId, summary: SessionSummary) -> Result<Session, StoreError> {
        dispatch!(self.close_session(id, summary))
    }

    /// The session with this id, if any.
    pub async fn session_by_id(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        dispatch!(self.session_by_id(id))
    }

    /// Every session not closed yet (running, or left open by a gateway that stopped without closing it), oldest
    /// first.
    pub async fn open_sessions(&self) -> Result<Vec<Session>, StoreError> {
        dispatch!(self.open_sessions())
    }

    /// Sessions matching `filter`, newest first.
    pub async fn list_sessions(&self, filter: &SessionFilter) -> Result<Vec<Session>, StoreError> {
        dispatch!(self.list_sessions(filter))
    }

    // ----- SSH keys -----

    /// Registers a user's SSH public key. A fingerprint already registered (to anyone) is
    /// [`StoreError::Conflict`]; an unknown user is [`StoreError::NotFound`].
    pub async fn add_ssh_key(&self, actor: &Actor, new: NewSshKey) -> Result<SshKey, StoreError> {
        dispatch!(self.add_ssh_key(actor, new))
    }

    /// The SSH login lookup: the key with this fingerprint and its owner. The owner's `disabled` flag is returned,
    /// not checked.
    pub async fn ssh_key_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> Result<Option<(SshKey, User)>, StoreError> {
        dispatch!(self.ssh_key_by_fingerprint(fingerprint))
    }

    /// All SSH keys, or one user's, oldest first.
    pub async fn list_ssh_keys(&self, user: Option<UserId>) -> Result<Vec<SshKey>, StoreError> {
        dispatch!(self.list_ssh_keys(user))
    }

    /// Removes an SSH key; with `owner`, only if that user owns it (else [`StoreError::NotFound`], like an unknown
    /// fingerprint, so a user learns nothing about other users' keys).
    pub async fn delete_ssh_key(
        &self,
        actor: &Actor,
        owner: Option<UserId>,
        fingerprint: &str,
    ) -> Result<SshKey, StoreError> {
        dispatch!(self.delete_ssh_key(actor, owner, fingerprint))
    }

    /// Records a login with the key. Best effort; not audited.
    pub async fn touch_ssh_key(&self, fingerprint: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        dispatch!(self.touch_ssh_key(fingerprint, at))
    }

    /// The host key pinned for an SSH connection, if any.
    pub async fn host_key_pin(&self, connection: ConnectionId) -> Result<Option<HostKeyPin>, StoreError> {
        dispatch!(self.host_key_pin(connection))
    }

    /// Pins `public_key` for the connection unless a key is already pinned, and returns the pin now in force
    /// (which the caller compares with the key it saw). Unknown connection: [`StoreError::NotFound`].
    pub async fn pin_host_key(
        &self,
        connection: ConnectionId,
        public_key: &str,
        fingerprint: &str,
    ) -> Result<HostKeyPin, StoreError> {
        dispatch!(self.pin_host_key(connection, public_key, fingerprint))
    }

    // ----- reviews, access requests, webhook deliveries (see `crate::reviews`) -----

    /// Creates a pending review of a held statement (audited as `review.create`).
    pub async fn create_review(
        &self,
        actor: &Actor,
        new: crate::reviews::NewReview,
    ) -> Result<crate::reviews::Review, StoreError> {
        dispatch!(self.create_review(actor, new))
    }

    /// The review with this id, if any.
    pub async fn review_by_id(&self, id: &str) -> Result<Option<crate::reviews::Review>, StoreError> {
        dispatch!(self.review_by_id(id))
    }

    /// Reviews matching `filter`, newest first.
    pub async fn list_reviews(
        &self,
        filter: &crate::reviews::ReviewFilter,
    ) -> Result<Vec<crate::reviews::Review>, StoreError> {
        dispatch!(self.list_reviews(filter))
    }

    /// Records `actor`'s vote on a pending review, enforcing the rules of [`crate::reviews`]; returns the review
    /// as it now stands. A refused vote changes nothing.
    pub async fn decide_review(
        &self,
        actor: &Actor,
        id: &str,
        decide: crate::reviews::Decide,
    ) -> Result<crate::reviews::Review, crate::reviews::ReviewError> {
        dispatch!(self.decide_review(actor, id, decide))
    }

    /// Closes a pending review as cancelled or expired; a decided review is returned unchanged.
    pub async fn close_review(
        &self,
        actor: &Actor,
        id: &str,
        status: crate::reviews::ReviewStatus,
    ) -> Result<crate::reviews::Review, StoreError> {
        dispatch!(self.close_review(actor, id, status))
    }

    /// Uses one unused, unexpired approval of this exact statement for this user on this connection.
    pub async fn use_grant(
        &self,
        user_id: UserId,
        connection_name: &str,
        statement_hash: &str,
    ) -> Result<Option<crate::reviews::Review>, StoreError> {
        dispatch!(self.use_grant(user_id, connection_name, statement_hash))
    }

    /// Marks an approved review's grant used (its held statement ran).
    pub async fn mark_grant_used(&self, id: &str) -> Result<(), StoreError> {
        dispatch!(self.mark_grant_used(id))
    }

    /// Creates a pending access request (audited as `access.request`).
    pub async fn create_access_request(
        &self,
        actor: &Actor,
        new: crate::reviews::NewAccessRequest,
    ) -> Result<crate::reviews::AccessRequest, StoreError> {
        dispatch!(self.create_access_request(actor, new))
    }

    /// The access request with this id, if any.
    pub async fn access_request_by_id(
        &self,
        id: &str,
    ) -> Result<Option<crate::reviews::AccessRequest>, StoreError> {
        dispatch!(self.access_request_by_id(id))
    }

    /// Access requests matching `filter`, newest first.
    pub async fn list_access_requests(
        &self,
        filter: &crate::reviews::ReviewFilter,
    ) -> Result<Vec<crate::reviews::AccessRequest>, StoreError> {
        dispatch!(self.list_access_requests(filter))
    }

    /// Records `actor`'s decision on a pending access request (same rules as reviews).
    pub async fn decide_access_request(
        &self,
        actor: &Actor,
        id: &str,
        decide: crate::reviews::Decide,
    ) -> Result<crate::reviews::AccessRequest, crate::reviews::ReviewError> {
        dispatch!(self.decide_access_request(actor, id, decide))
    }

    /// The approved, unexpired access request granting this user this connection, if any.
    pub async fn active_access_grant(
        &self,
        user_id: UserId,
        connection_name: &str,
    ) -> Result<Option<crate::reviews::AccessRequest>, StoreError> {
        dispatch!(self.active_access_grant(user_id, connection_name))
    }

    /// Logs one webhook attempt.
    pub async fn record_delivery(&self, delivery: crate::reviews::WebhookDelivery) -> Result<(), StoreError> {
        dispatch!(self.record_delivery(delivery))
    }

    /// The newest webhook attempts.
    pub async fn list_deliveries(
        &self,
        limit: u32,
    ) -> Result<Vec<crate::reviews::WebhookDelivery>, StoreError> {
        dispatch!(self.list_deliveries(limit))
    }

    /// Listens for reviews changed by any gateway (PostgreSQL only; `None` on SQLite, where only this process
    /// writes and the broker wakes its own waiters).
    pub async fn listen_reviews(&self) -> Result<Option<crate::reviews::ReviewListener>, StoreError> {
        match &self.pool {
            Pool::Sqlite(_) => Ok(None),
            Pool::Postgres(pool) => {
                let unavailable = |e: sqlx::Error| {
                    StoreError::Unavailable("listening for review changes failed", Some(Box::new(e)))
                };
                let mut listener = sqlx::postgres::PgListener::connect_with(pool)
                    .await
                    .map_err(unavailable)?;
                listener
                    .listen(crate::reviews::NOTIFY_CHANNEL)
                    .await
                    .map_err(unavailable)?;
                Ok(Some(crate::reviews::ReviewListener(listener)))
            }
        }
    }

    // ----- first start and master key -----

    /// Creates the first admin user and their token, atomically, if and only if the store has never been
    /// bootstrapped and holds no user. Returns `None` otherwise, so only the very first start shows a token —
    /// also when several gateways start at once against one PostgreSQL store.
    pub async fn bootstrap_admin(
        &self,
        actor: &Actor,
        user: NewUser,
        token: BootstrapToken,
    ) -> Result<Option<(User, TokenInfo)>, StoreError> {
        dispatch!(self.bootstrap_admin(actor, user, token))
    }

    /// Verifies `key` is the store's master key: records a key check (a known value sealed with it) if the store
    /// has none yet, else opens the recorded one. A different key is [`StoreError::WrongMasterKey`]; the check is
    /// never replaced. Call at start-up, before using the key.
    pub async fn check_master_key(&self, key: &MasterKey) -> Result<(), StoreError> {
        dispatch!(self.check_master_key(key))
    }

    /// Whether a master key check is recorded, i.e. whether sealed data may exist. When it is, a missing key file
    /// must stop start-up rather than lead to a new key being generated.
    pub async fn master_key_recorded(&self) -> Result<bool, StoreError> {
        dispatch!(self.master_key_recorded())
    }
}

/// External identities (OpenID logins): just-in-time provisioning and login session tokens.
impl Store {
    /// Creates the user of a new external identity, or brings an existing one's groups and role up to date, with
    /// audit rows for what changed. Used for provider bearer tokens; [`Store::login`] does the same and issues a
    /// session token. A disabled user is returned as such (the caller refuses it).
    pub async fn provision_identity(
        &self,
        address: Option<&str>,
        login: &crate::LoginIdentity,
    ) -> Result<crate::Provisioned, StoreError> {
        dispatch!(self.provision_identity(address, login))
    }

    /// A login: provisions the identity's user and stores its session token, in one transaction. A disabled
    /// user gets [`crate::LoginOutcome::Disabled`] and nothing changes.
    pub async fn login(
        &self,
        address: Option<&str>,
        login: &crate::LoginIdentity,
        token: crate::NewLoginToken,
    ) -> Result<crate::LoginOutcome, StoreError> {
        dispatch!(self.login(address, login, token))
    }

    /// The identity `(provider, subject)` and its user, if it ever logged in.
    pub async fn identity_by_subject(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<(crate::ExternalIdentity, User)>, StoreError> {
        dispatch!(self.identity_by_subject(provider, subject))
    }

    /// The external identities linked to a user.
    pub async fn identities_of_user(&self, user: UserId) -> Result<Vec<crate::ExternalIdentity>, StoreError> {
        dispatch!(self.identities_of_user(user))
    }

    /// What a login session token was issued for; `None` for tokens not issued by a login.
    pub async fn login_session(&self, token: TokenId) -> Result<Option<crate::LoginSession>, StoreError> {
        dispatch!(self.login_session(token))
    }
}
