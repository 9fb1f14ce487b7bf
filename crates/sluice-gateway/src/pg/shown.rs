//! Statement texts as the recording shows them: masked with the session's statement masker, and remembered for
//! texts that repeat.
//!
//! Drivers and ORMs send the same texts again and again (pgJDBC, psycopg and `pgbench -M extended` Parse the same
//! statement for every execution; every transaction sends `BEGIN` and `COMMIT`), and masking a text costs 1-2 µs in
//! the gateway, several times what it costs in a benchmark: the detectors' automata are cold after the kernel's
//! socket work (bench/README.md). A text seen a second time is kept with its masked form; a text seen once leaves
//! only its hash, so texts that never repeat (literals written inline) cost a hash each and no copies.
//!
//! Correct because a session's statement masker is fixed for its life and masking is a function of the text
//! (hash styles use the gateway's key, not randomness). A remembered text is compared in full before its masked
//! form is used, so two texts with one hash are masked each on their own.

use std::hash::BuildHasher as _;

use sluice_mask::Masker;

use super::fast_hash::{FastMap, FastSet, FastState};

/// Texts longer than this are masked every time (they rarely repeat and would pin memory).
const MAX_TEXT: usize = 1024;
/// Hashes of texts seen once, kept before the set starts over.
const MAX_SEEN: usize = 4096;
/// Repeated texts kept with their masked form before the map starts over (at most `MAX_REPEATED * MAX_TEXT * 2`
/// bytes per session).
const MAX_REPEATED: usize = 256;

/// The session's statement texts as recorded.
#[derive(Debug)]
pub(crate) struct StatementTexts {
    masker: Option<Masker>,
    hasher: FastState,
    /// Hashes of texts seen once.
    seen: FastSet<u64>,
    /// Texts seen more than once, by hash: the text and its masked form.
    repeated: FastMap<u64, (Box<str>, Box<str>)>,
}

impl StatementTexts {
    /// Texts masked with `masker`, or shown as they are when the policy masks nothing in this session.
    pub(crate) fn new(masker: Option<Masker>) -> StatementTexts {
        StatementTexts {
            masker,
            hasher: FastState::default(),
            seen: FastSet::default(),
            repeated: FastMap::default(),
        }
    }

    /// `text` masked with the session's statement masker, nothing remembered: for texts that do not repeat (a
    /// parameter value, a justification) and for statement texts not worth keeping.
    pub(crate) fn masked(&self, text: &str) -> String {
        match &self.masker {
            Some(masker) => masker.mask_text(text).into_owned(),
            None => text.to_owned(),
        }
    }

    /// `text` (a statement text) as the recording shows it.
    pub(crate) fn shown(&mut self, text: &str) -> String {
        if self.masker.is_none() || text.len() > MAX_TEXT {
            return self.masked(text);
        }
        let hash = self.hasher.hash_one(text);
        if let Some((known, shown)) = self.repeated.get(&hash) {
            if **known == *text {
                return String::from(&**shown);
            }
        }
        let shown = self.masked(text);
        if self.seen.remove(&hash) {
            if self.repeated.len() >= MAX_REPEATED {
                self.repeated.clear();
            }
            self.repeated
                .insert(hash, (Box::from(text), Box::from(shown.as_str())));
        } else {
            if self.seen.len() >= MAX_SEEN {
                self.seen.clear();
            }
            self.seen.insert(hash);
        }
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_mask::MaskConfig;

    fn texts() -> StatementTexts {
        let masker = Masker::new(&MaskConfig::default(), b"key").unwrap();
        StatementTexts::new(Some(masker))
    }

    /// A repeated text is masked the same every time, and what is kept for it is its masked form.
    #[test]
    fn repeated_texts_are_masked_every_time() {
        let mut texts = texts();
        let sql = "INSERT INTO cards VALUES ('4111 1111 1111 1111')";
        let first = texts.shown(sql);
        assert!(!first.contains("4111 1111 1111 1111"), "{first}");
        for _ in 0..3 {
            assert_eq!(texts.shown(sql), first);
        }
        assert_eq!(texts.repeated.len(), 1);
        let (_, kept) = texts.repeated.values().next().unwrap();
        assert_eq!(**kept, *first);
    }

    /// Texts seen once leave a hash only; the sets stay bounded however many texts go by.
    #[test]
    fn texts_seen_once_are_not_kept_and_memory_stays_bounded() {
        let mut texts = texts();
        for i in 0..(MAX_SEEN * 2 + 10) {
            let sql = format!("SELECT * FROM t WHERE id = {i}");
            assert_eq!(texts.shown(&sql), sql);
        }
        assert!(texts.repeated.is_empty());
        assert!(texts.seen.len() <= MAX_SEEN);
        for i in 0..(MAX_REPEATED * 2 + 10) {
            let sql = format!("SELECT * FROM u WHERE id = {i}");
            texts.shown(&sql);
            texts.shown(&sql);
        }
        assert!(texts.repeated.len() <= MAX_REPEATED);
    }

    /// Two texts under one hash: each gets its own masked form, never the other's.
    #[test]
    fn a_hash_collision_never_shows_another_text() {
        let mut texts = texts();
        let secret = "SELECT '4111 1111 1111 1111'";
        let masked = texts.shown(secret);
        texts.shown(secret);
        // Plant another text under the same hash, as a collision would.
        let other = "SELECT 1";
        let hash = texts.hasher.hash_one(other);
        let entry = texts.repeated.values().next().cloned().unwrap();
        texts.repeated.insert(hash, entry);
        assert_eq!(texts.shown(other), "SELECT 1");
        assert_ne!(texts.shown(other), masked);
    }

    /// Without a masker (the policy masks nothing), texts are recorded as sent and nothing is kept.
    #[test]
    fn without_a_masker_texts_are_shown_as_sent() {
        let mut texts = StatementTexts::new(None);
        let sql = "SELECT '4111 1111 1111 1111'";
        assert_eq!(texts.shown(sql), sql);
        assert_eq!(texts.shown(sql), sql);
        assert!(texts.seen.is_empty() && texts.repeated.is_empty());
    }

    /// Long texts are masked every time without being kept.
    #[test]
    fn long_texts_are_masked_without_being_kept() {
        let mut texts = texts();
        let sql = format!("SELECT '4111 1111 1111 1111' {}", "-- padding ".repeat(200));
        let first = texts.shown(&sql);
        assert!(!first.contains("4111 1111 1111 1111"));
        assert_eq!(texts.shown(&sql), first);
        assert!(texts.seen.is_empty() && texts.repeated.is_empty());
    }
}
