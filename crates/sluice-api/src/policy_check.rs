//! Validation of a policy document before it is stored.
//!
//! The policy language belongs to `sluice-policy`; until its `Policy::from_toml` exists this checks TOML syntax
//! only (errors name line and column). The CLI's offline `sluice policy check` calls the same function, so both
//! paths tighten together when the real validation is wired in.

/// Checks a policy's text; the error names the line and key at fault.
pub fn validate(source: &str) -> Result<(), String> {
    match toml::from_str::<toml::Table>(source) {
        Ok(_) => Ok(()),
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let before = source.get(..span.start).unwrap_or(source);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            Err(format!("policy line {line}, column {column}: {}", e.message()))
        }
    }
}
