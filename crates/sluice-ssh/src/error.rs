//! The SSH proxy's errors. `Display` texts are safe to show a client (they go to its stderr): no secrets, no
//! target details beyond the connection's name.

use sluice_store::StoreError;

/// Everything that can end an SSH session or refuse a request.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// The state store failed.
    #[error("sluice: the state store is unavailable")]
    Store(#[from] StoreError),
    /// The session log could not be written (sessions fail closed).
    #[error("sluice: the session could not be recorded")]
    Record(#[from] sluice_record::RecordError),
    /// The gateway's host key could not be loaded or created.
    #[error("sluice: the gateway host key is unusable: {0}")]
    HostKey(String),
    /// The connection's settings are unusable for SSH.
    #[error("sluice: connection `{connection}` is misconfigured: {reason}")]
    Misconfigured {
        /// The connection's name.
        connection: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The target could not be reached or refused the gateway's login.
    #[error("sluice: cannot connect to `{connection}`: {reason}")]
    TargetConnect {
        /// The connection's name.
        connection: String,
        /// What failed.
        reason: String,
    },
    /// The target presented a host key other than the pinned one.
    #[error(
        "sluice: the host key of `{connection}` changed (pinned {pinned}, offered {offered}); refusing to connect. \
         An admin must re-pin the key if the change is expected"
    )]
    HostKeyChanged {
        /// The connection's name.
        connection: String,
        /// Fingerprint of the pinned key.
        pinned: String,
        /// Fingerprint of the key the target offered.
        offered: String,
    },
    /// SSH protocol failure on either leg.
    #[error("sluice: SSH protocol error")]
    Ssh(#[from] russh::Error),
    /// Socket failure.
    #[error("sluice: I/O error")]
    Io(#[from] std::io::Error),
}

impl SshError {
    /// Whether this is the client's connection ending under the session without an SSH disconnect: a killed
    /// `ssh`, a dropped network, a closed laptop. The session ends the same way; only the recording's reason says
    /// which it was (not a protocol failure).
    pub fn client_connection_lost(&self) -> bool {
        let io = match self {
            SshError::Ssh(russh::Error::IO(e)) | SshError::Io(e) => e,
            _ => return false,
        };
        matches!(
            io.kind(),
            std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
        )
    }
}
