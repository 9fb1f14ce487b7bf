//! First start: create the `admin` user with one token, atomically, and save the token for the operator.

use super::datadir::write_private;
use anyhow::Context as _;
use sluice_identity::token;
use sluice_model::{Role, Secret, UserKind};
use sluice_store::{Actor, BootstrapToken, NewUser, Store};
use std::path::Path;

/// Name of the first administrator.
pub const ADMIN_USER: &str = "admin";

/// Creates `admin` and its token if the store has no user yet, and writes the token to `token_path` (0600).
/// Returns the token only on that first start; every later start returns `None`, so it is never printed twice.
///
/// The bootstrap token does not expire: it is the only way in until the operator creates their own tokens, and an
/// expired one would lock them out. The README tells them to revoke it once they have.
pub async fn first_admin(store: &Store, token_path: &Path) -> anyhow::Result<Option<Secret<String>>> {
    let (secret, hash) = token::mint().context("cannot create the admin token")?;
    let user = NewUser {
        name: ADMIN_USER.to_owned(),
        kind: UserKind::Human,
        role: Role::Admin,
        groups: Vec::new(),
    };
    let draft = BootstrapToken {
        name: Some("bootstrap".to_owned()),
        hash,
        display_prefix: token::display_prefix(secret.expose()),
        expires_at: None,
    };
    let created = store
        .bootstrap_admin(&Actor::system(), user, draft)
        .await
        .context("cannot create the first admin")?;
    if created.is_none() {
        return Ok(None);
    }
    let mut contents = secret.expose().clone();
    contents.push('\n');
    let contents = Secret::new(contents);
    write_private(token_path, contents.expose().as_bytes())?;
    tracing::info!(path = %token_path.display(), "created user `admin`; its token was written to the data directory");
    Ok(Some(secret))
}
