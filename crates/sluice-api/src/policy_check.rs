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

/// Checks that every webhook the policy names in `notify` is configured on this gateway (`[[approvals.webhooks]]`):
/// a misspelt name would otherwise notify nobody without anyone noticing.
pub fn webhooks_known(source: &str, broker: &sluice_approvals::Broker) -> Result<(), String> {
    let Ok(policy) = sluice_policy::Policy::from_toml(source) else {
        return Ok(());
    };
    let names = policy.webhook_names();
    let unknown = broker.unknown_webhooks(names.iter().map(String::as_str));
    if unknown.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the policy names webhooks in `notify` that this gateway does not configure: {}; add them to \
         [[approvals.webhooks]] in the gateway configuration (with scope = \"policy\" to send them only what \
         policies route to them), or fix the names",
        unknown.join(", ")
    ))
}
