//! Random bytes from the kernel, for the throwaway passwords and keys the targets are set up with.

use crate::error::{CompatError, Result};
use std::io::Read as _;

/// `N` bytes from `/dev/urandom`.
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0_u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut bytes))
        .map_err(|err| CompatError::io("reading /dev/urandom", err))?;
    Ok(bytes)
}

/// 32 hex digits.
pub(crate) fn hex_password() -> Result<String> {
    Ok(bytes::<16>()?.iter().map(|byte| format!("{byte:02x}")).collect())
}
