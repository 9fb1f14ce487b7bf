//! md5 password authentication (protocol docs, "AuthenticationMD5Password"; `src/common/md5_common.c`).
//!
//! md5 is weak and deprecated upstream; it is supported because older targets still use it. The answer is
//! `"md5" || hex(md5(hex(md5(password || user)) || salt))`.

use md5::{Digest, Md5};

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The PasswordMessage content answering an AuthenticationMD5Password request with `salt`.
pub fn md5_password(user: &str, password: &str, salt: [u8; 4]) -> String {
    let inner = hex(&Md5::new().chain_update(password).chain_update(user).finalize());
    let outer = Md5::new().chain_update(inner).chain_update(salt).finalize();
    format!("md5{}", hex(&outer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_answer_matches_an_independently_computed_vector() {
        // Computed with Python's hashlib: 'md5' + md5(md5('s3cretalice').hexdigest() + b'\x01\x02\x03\x04').
        assert_eq!(
            md5_password("alice", "s3cret", [1, 2, 3, 4]),
            "md5b79948bbeb35dee03ab8fe15a839030b"
        );
    }

    #[test]
    fn md5_answer_depends_on_salt_user_and_password() {
        let base = md5_password("alice", "s3cret", [1, 2, 3, 4]);
        assert_ne!(base, md5_password("alice", "s3cret", [1, 2, 3, 5]));
        assert_ne!(base, md5_password("alicf", "s3cret", [1, 2, 3, 4]));
        assert_ne!(base, md5_password("alice", "s3cres", [1, 2, 3, 4]));
        assert_eq!(base.len(), 35);
    }
}
