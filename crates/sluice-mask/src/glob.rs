//! Case-insensitive glob patterns for table and column names (`*` = any run, `?` = one character).
//!
//! Names are short, so a backtracking matcher over bytes is both simpler and faster here than compiling an
//! automaton; the worst case is bounded by the one-star-at-a-time algorithm (linear backtracking).

/// A compiled glob: the pattern lowercased once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    pattern: Box<[u8]>,
    /// `*` alone: skip matching entirely (the common case for tables).
    any: bool,
}

impl Glob {
    /// Compiles `pattern` (never fails: every string is a valid glob).
    pub(crate) fn new(pattern: &str) -> Glob {
        let pattern: Box<[u8]> = pattern.bytes().map(|b| b.to_ascii_lowercase()).collect();
        let any = pattern.iter().all(|b| *b == b'*') && !pattern.is_empty();
        Glob { pattern, any }
    }

    /// Whether this glob is exactly `*` (matches everything, including an unknown name).
    pub(crate) fn matches_anything(&self) -> bool {
        self.any
    }

    /// Matches `name` ASCII-case-insensitively against the whole pattern.
    pub(crate) fn matches(&self, name: &str) -> bool {
        if self.any {
            return true;
        }
        let pat = &self.pattern[..];
        let text = name.as_bytes();
        let (mut p, mut t) = (0usize, 0usize);
        // Position of the last `*` seen and the text position it was tried at.
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            let tc = text.get(t).map(u8::to_ascii_lowercase);
            match pat.get(p) {
                Some(b'*') => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(&pc) if pc == b'?' || Some(pc) == tc => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        pat.get(p..).is_some_and(|rest| rest.iter().all(|b| *b == b'*'))
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn globs_match_case_insensitively_and_anchor_both_ends() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "anything", true),
            ("*", "", true),
            ("password", "PASSWORD", true),
            ("password", "password_hash", false),
            ("password*", "password_hash", true),
            ("*_token", "refresh_token", true),
            ("*_token", "token", false),
            ("*token*", "token", true),
            ("us?rs", "users", true),
            ("us?rs", "usrs", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("", "", true),
            ("", "x", false),
            ("**", "x", true),
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(Glob::new(pattern).matches(name), *expected, "{pattern} vs {name}");
        }
    }
}
