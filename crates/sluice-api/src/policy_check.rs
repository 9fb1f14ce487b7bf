//! Validation of a policy document before it is stored, by the policy engine itself
//! ([`sluice_policy::Policy::from_toml`]), so the API accepts exactly what the gateway can enforce.
//!
//! The CLI's offline `sluice policy check` calls the same function, so both paths always agree.

/// Checks a policy's text; the error lists every problem with its line, column and key.
pub fn validate(source: &str) -> Result<(), String> {
    match sluice_policy::Policy::from_toml(source) {
        Ok(_) => Ok(()),
        // "line 3, column 1: ..." reads better as "policy line 3, ..."; the list of problems introduces itself.
        Err(e @ sluice_policy::PolicyError::Syntax { .. }) => Err(format!("policy {e}")),
        Err(e) => Err(e.to_string()),
    }
}
