//! Size limits applied to length fields before any byte of a message body is buffered or allocated.
//!
//! The defaults mirror the server's own limits (`src/backend/tcop/postgres.c`, `src/include/libpq/libpq.h`):
//! startup packets are tiny, most control messages are "small", and only messages that carry user data (query
//! text, bind parameters, rows, COPY data) may approach PostgreSQL's 1 GiB field limit.

/// The limits a decoder enforces. Lengths are message lengths as on the wire (including the length word itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Untagged startup-phase packets (StartupMessage, SSLRequest, CancelRequest, ...).
    pub startup: u32,
    /// Messages with small fixed or bounded bodies (Sync, Describe, ReadyForQuery, ...).
    pub small: u32,
    /// Messages that carry user data (Query, Parse, Bind, DataRow, CopyData, ErrorResponse, ...).
    pub large: u32,
}

/// `MAX_STARTUP_PACKET_LENGTH` in `src/include/libpq/pqcomm.h`.
pub const MAX_STARTUP_PACKET_LENGTH: u32 = 10_000;
/// `PQ_SMALL_MESSAGE_LIMIT` in `src/include/libpq/libpq.h`.
pub const SMALL_MESSAGE_LIMIT: u32 = 10_000;
/// `PQ_LARGE_MESSAGE_LIMIT` (`MaxAllocSize - 1`) in `src/include/libpq/libpq.h`.
pub const LARGE_MESSAGE_LIMIT: u32 = 0x3fff_ffff - 1;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            startup: MAX_STARTUP_PACKET_LENGTH,
            small: SMALL_MESSAGE_LIMIT,
            large: LARGE_MESSAGE_LIMIT,
        }
    }
}

/// `PG_MAX_AUTH_TOKEN_LENGTH` in `src/backend/libpq/auth.c`: the cap on a PasswordMessage / SASL / GSS response.
pub const MAX_AUTH_TOKEN_LENGTH: u32 = 65_535;
