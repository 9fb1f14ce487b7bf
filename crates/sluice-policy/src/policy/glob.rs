//! Shell-style globs (`*` any run, `?` one character) for connection names, tags, statement tags and object names.
//!
//! Patterns are validated and normalised once when a policy loads, so matching during `decide()` is a short loop
//! without allocation.

use serde::{Deserialize, Serialize};

/// A compiled glob.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Glob {
    pattern: Vec<char>,
    case_insensitive: bool,
}

impl Glob {
    /// Compiles `pattern`. Case-insensitive globs compare ASCII letters without case (SQL names and tags).
    pub fn new(pattern: &str, case_insensitive: bool) -> Result<Self, String> {
        if pattern.is_empty() {
            return Err("a pattern cannot be empty".to_owned());
        }
        if pattern.chars().any(char::is_control) {
            return Err("a pattern cannot contain control characters".to_owned());
        }
        let pattern = if case_insensitive {
            pattern.to_ascii_lowercase()
        } else {
            pattern.to_owned()
        };
        Ok(Self {
            pattern: pattern.chars().collect(),
            case_insensitive,
        })
    }

    /// Whether the pattern contains no wildcard and no dot, i.e. names one unqualified thing.
    pub fn is_unqualified_name(&self) -> bool {
        !self.pattern.iter().any(|c| matches!(c, '.' | '*' | '?'))
    }

    /// The part after the last dot, as its own glob (`billing.*` -> `*`, `public.users` -> `users`).
    pub fn last_part(&self) -> Glob {
        let start = self
            .pattern
            .iter()
            .rposition(|c| *c == '.')
            .map_or(0, |dot| dot + 1);
        Glob {
            pattern: self.pattern.get(start..).unwrap_or_default().to_vec(),
            case_insensitive: self.case_insensitive,
        }
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        // Iterative wildcard matching with one backtrack point: linear in practice, no recursion.
        let text: Vec<char> = if self.case_insensitive {
            text.chars().map(|c| c.to_ascii_lowercase()).collect()
        } else {
            text.chars().collect()
        };
        let (mut p, mut t) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match (self.pattern.get(p), text.get(t)) {
                (Some('*'), _) => {
                    star = Some((p, t));
                    p += 1;
                }
                (Some('?'), Some(_)) => {
                    p += 1;
                    t += 1;
                }
                (Some(expected), Some(actual)) if expected == actual => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((star_p, star_t)) => {
                        p = star_p + 1;
                        t = star_t + 1;
                        star = Some((star_p, star_t + 1));
                    }
                    None => return false,
                },
            }
        }
        self.pattern
            .get(p..)
            .unwrap_or_default()
            .iter()
            .all(|c| *c == '*')
    }
}

impl std::fmt::Display for Glob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.pattern.iter().try_for_each(|c| write!(f, "{c}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(pattern: &str) -> Glob {
        Glob::new(pattern, true).unwrap()
    }

    #[test]
    fn star_matches_any_run_and_question_mark_exactly_one_character() {
        assert!(glob("prod-*").matches("prod-eu-1"));
        assert!(glob("prod-*").matches("prod-"));
        assert!(!glob("prod-*").matches("staging"));
        assert!(glob("db?").matches("db1"));
        assert!(!glob("db?").matches("db12"));
        assert!(glob("*.users").matches("public.users"));
        assert!(glob("a*b*c").matches("a-b-b-c"));
        assert!(!glob("a*b*c").matches("a-b-b-d"));
        assert!(glob("*").matches(""));
    }

    #[test]
    fn case_insensitive_globs_ignore_ascii_case_and_sensitive_ones_do_not() {
        assert!(glob("DROP *").matches("drop table"));
        let sensitive = Glob::new("Prod", false).unwrap();
        assert!(sensitive.matches("Prod"));
        assert!(!sensitive.matches("prod"));
    }

    #[test]
    fn empty_patterns_are_rejected() {
        assert!(Glob::new("", true).is_err());
    }

    #[test]
    fn last_part_strips_the_schema() {
        assert!(glob("billing.invoices").last_part().matches("invoices"));
        assert!(glob("billing.*").last_part().matches("anything"));
    }
}
