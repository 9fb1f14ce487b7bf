//! What an admin configures per OpenID provider, and how the provider's group claim becomes sluice groups and a role.
//!
//! Providers disagree on where groups live: Okta and Dex send a `groups` array, Azure AD `roles`, Keycloak nests them
//! in `realm_access.roles`, some send one string joined by commas. [`GroupsClaim`] names the place and shape;
//! [`GroupMapping`] translates provider group names (often long DNs or GUIDs) into sluice's own names.

use serde_json::Value;
use sluice_model::{Role, Secret};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// One configured OpenID provider.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// The name users pick it by (`sluice login --provider NAME`) and that identities record.
    pub name: String,
    /// The issuer URL, compared exactly with the discovery document's `issuer` and every token's `iss`.
    pub issuer: String,
    /// sluice's client id at the provider; ID tokens must be addressed to it.
    pub client_id: String,
    /// The client secret of a confidential client; `None` for a public client using PKCE only.
    pub client_secret: Option<Secret<String>>,
    /// Scopes requested at login; `openid` is always added.
    pub scopes: Vec<String>,
    /// The audience bearer access tokens must carry (for instance a resource indicator such as `urn:sluice:api`).
    /// Without it, bearer tokens are checked against the client id.
    pub audience: Option<String>,
    /// Where the groups are in the token.
    pub groups_claim: GroupsClaim,
    /// How provider groups become sluice groups and roles.
    pub group_mapping: GroupMapping,
    /// Whether access tokens from this provider are accepted as bearer tokens and as native-client passwords
    /// (service accounts: CI jobs, agents). Off by default: only interactive logins then create identities.
    pub allow_bearer_tokens: bool,
}

impl ProviderConfig {
    /// A public client with the default scopes (`openid profile email groups`), the `groups` claim passed through
    /// unmapped, and bearer tokens refused.
    pub fn new(name: &str, issuer: &str, client_id: &str) -> ProviderConfig {
        ProviderConfig {
            name: name.to_owned(),
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: None,
            scopes: ["profile", "email", "groups"].map(str::to_owned).to_vec(),
            audience: None,
            groups_claim: GroupsClaim::default(),
            group_mapping: GroupMapping::default(),
            allow_bearer_tokens: false,
        }
    }

    /// The scopes to request: `openid` first, then the configured ones without duplicates.
    pub fn requested_scopes(&self) -> String {
        let mut scopes = vec!["openid"];
        for scope in &self.scopes {
            if !scopes.contains(&scope.as_str()) {
                scopes.push(scope);
            }
        }
        scopes.join(" ")
    }
}

/// Where a token carries group names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupsClaim {
    /// An array of strings (a single string counts as one group) at a dotted path: `groups`, `roles`,
    /// `realm_access.roles`.
    List {
        /// Object keys from the top of the claims to the value.
        path: Vec<String>,
    },
    /// One string holding several groups joined by `separator` (empty parts are ignored).
    Joined {
        /// Object keys from the top of the claims to the value.
        path: Vec<String>,
        /// What joins the names, e.g. `,` or ` `.
        separator: char,
    },
}

impl Default for GroupsClaim {
    fn default() -> Self {
        GroupsClaim::list("groups")
    }
}

impl GroupsClaim {
    /// A list at a dotted path such as `realm_access.roles`.
    pub fn list(dotted: &str) -> GroupsClaim {
        GroupsClaim::List {
            path: split_path(dotted),
        }
    }

    /// A joined string at a dotted path.
    pub fn joined(dotted: &str, separator: char) -> GroupsClaim {
        GroupsClaim::Joined {
            path: split_path(dotted),
            separator,
        }
    }

    /// The provider's group names in `claims`. A missing claim means no groups; a claim of an unexpected shape (a
    /// number, an object) also yields none rather than guessing, and non-string list entries are skipped.
    pub fn extract(&self, claims: &serde_json::Map<String, Value>) -> BTreeSet<String> {
        let (path, separator) = match self {
            GroupsClaim::List { path } => (path, None),
            GroupsClaim::Joined { path, separator } => (path, Some(*separator)),
        };
        let Some(value) = lookup(claims, path) else {
            return BTreeSet::new();
        };
        let names: Vec<&str> = match (value, separator) {
            (Value::String(text), Some(separator)) => text.split(separator).collect(),
            (Value::String(text), None) => vec![text.as_str()],
            (Value::Array(items), _) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        names
            .into_iter()
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

fn split_path(dotted: &str) -> Vec<String> {
    dotted.split('.').map(str::to_owned).collect()
}

fn lookup<'a>(claims: &'a serde_json::Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(claims.get(first)?, |value, key| value.as_object()?.get(key))
}

/// Provider group → sluice groups and roles.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupMapping {
    /// Provider group name → the sluice groups it grants.
    pub groups: BTreeMap<String, Vec<String>>,
    /// Provider group name → the role it grants. The most privileged granted role wins; without any, `user`.
    pub roles: BTreeMap<String, Role>,
    /// Whether provider groups without a `groups` entry become sluice groups of the same name. Convenient with
    /// providers whose group names are already meaningful; turn it off to admit only mapped groups.
    pub keep_unmapped: bool,
}

impl GroupMapping {
    /// Passes every provider group through under its own name, granting no roles beyond `user`.
    pub fn pass_through() -> GroupMapping {
        GroupMapping {
            keep_unmapped: true,
            ..GroupMapping::default()
        }
    }

    /// The sluice groups and role for a set of provider groups.
    pub fn apply(&self, provider_groups: &BTreeSet<String>) -> (BTreeSet<String>, Role) {
        let mut groups = BTreeSet::new();
        let mut role = Role::User;
        for group in provider_groups {
            match self.groups.get(group) {
                Some(mapped) => groups.extend(mapped.iter().cloned()),
                None if self.keep_unmapped => {
                    groups.insert(group.clone());
                }
                None => {}
            }
            if let Some(granted) = self.roles.get(group) {
                role = more_privileged(role, *granted);
            }
        }
        (groups, role)
    }
}

fn more_privileged(a: Role, b: Role) -> Role {
    let rank = |role| match role {
        Role::User => 0,
        Role::Auditor => 1,
        Role::Admin => 2,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// Tunables of validation and key refresh, with safe defaults.
#[derive(Clone, Copy, Debug)]
pub struct ValidationSettings {
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// The JWKS is fetched again for an unknown `kid` at most this often, so forged `kid`s cannot make sluice hammer
    /// the provider.
    pub min_key_refresh_interval: Duration,
}

impl Default for ValidationSettings {
    fn default() -> Self {
        ValidationSettings {
            leeway: Duration::from_secs(60),
            min_key_refresh_interval: Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> serde_json::Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn groups_are_read_from_flat_nested_and_joined_claims() {
        let token = claims(json!({
            "groups": ["dba", "dev"],
            "roles": "admin",
            "realm_access": {"roles": ["ops"]},
            "csv": "a, b,,c",
        }));
        assert_eq!(
            GroupsClaim::list("groups").extract(&token),
            ["dba", "dev"].map(String::from).into()
        );
        assert_eq!(
            GroupsClaim::list("roles").extract(&token),
            ["admin"].map(String::from).into()
        );
        assert_eq!(
            GroupsClaim::list("realm_access.roles").extract(&token),
            ["ops"].map(String::from).into()
        );
        assert_eq!(
            GroupsClaim::joined("csv", ',').extract(&token),
            ["a", "b", "c"].map(String::from).into()
        );
        assert!(GroupsClaim::list("realm_access.missing")
            .extract(&token)
            .is_empty());
        assert!(GroupsClaim::list("realm_access").extract(&token).is_empty());
    }

    #[test]
    fn mapping_translates_groups_and_picks_the_most_privileged_role() {
        let mapping = GroupMapping {
            groups: BTreeMap::from([(
                "cn=dba,ou=corp".to_owned(),
                vec!["dba".to_owned(), "prod-read".to_owned()],
            )]),
            roles: BTreeMap::from([
                ("auditors".to_owned(), Role::Auditor),
                ("sluice-admins".to_owned(), Role::Admin),
            ]),
            keep_unmapped: false,
        };
        let provider: BTreeSet<String> = ["cn=dba,ou=corp", "auditors", "sluice-admins", "other"]
            .map(String::from)
            .into();
        let (groups, role) = mapping.apply(&provider);
        assert_eq!(groups, ["dba", "prod-read"].map(String::from).into());
        assert_eq!(role, Role::Admin);
        let (groups, role) = GroupMapping::pass_through().apply(&provider);
        assert_eq!(groups, provider);
        assert_eq!(role, Role::User);
    }

    #[test]
    fn openid_is_always_requested_once() {
        let mut config = ProviderConfig::new("corp", "https://idp.example", "sluice");
        config.scopes = vec!["openid".into(), "groups".into()];
        assert_eq!(config.requested_scopes(), "openid groups");
    }
}
