//! Route handlers, one module per resource, and the input checks they share.

pub mod audit;
pub mod auth_oidc;
pub mod auth_web;
mod connection_options;
pub mod connections;
pub mod health;
pub mod me;
pub mod policy;
pub mod reviews;
pub mod sessions;
pub mod ssh_keys;
pub mod tokens;
pub mod users;

use crate::error::ApiError;

/// Longest accepted name of a user, connection, group or token label.
const MAX_NAME_LEN: usize = 64;

/// Checks a name used as an identifier (user, connection, group). Names appear in CLI tables, audit entries and,
/// for connections, as the database name a client asks for, so they are kept to a plain, unambiguous alphabet.
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.chars().all(valid_char) {
        return Err(ApiError::bad_request(
            "invalid_name",
            format!("{what} name `{name}` is invalid: use 1 to {MAX_NAME_LEN} letters, digits, '.', '_', '-' or '@'"),
        ));
    }
    Ok(())
}

/// Checks every group name in a list.
pub(crate) fn check_groups(groups: &[String]) -> Result<(), ApiError> {
    groups.iter().try_for_each(|g| check_name("group", g))
}
