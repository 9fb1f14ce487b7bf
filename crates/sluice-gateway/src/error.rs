//! The one error type of the gateway: every session error knows its side, its kind (for metrics and logs) and
//! a text that is safe to show the client.
//!
//! `Display` is the client-safe text: it never contains target addresses, target credentials, tokens or data.
//! Underlying causes (I/O errors, driver errors) are kept as `source()` for the operator's log only.

use sluice_model::Protocol;

/// Why a target's TLS certificate was refused, in terms of what an admin can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateProblem {
    /// No CA the connection trusts vouches for it: an unknown issuer, a self-signed certificate, a bad signature,
    /// or not a certificate for a TLS server. The fix is the same: the connection's own CA (or the certificate).
    Untrusted,
    /// It does not name the host the connection uses.
    WrongHostName,
    /// Its validity period has ended.
    Expired,
    /// Its validity period has not begun.
    NotYetValid,
}

impl CertificateProblem {
    /// Classifies rustls's verdict on a certificate.
    pub fn from_rustls(error: &rustls::CertificateError) -> CertificateProblem {
        use rustls::CertificateError as E;
        match error {
            E::NotValidForName | E::NotValidForNameContext { .. } => CertificateProblem::WrongHostName,
            E::Expired | E::ExpiredContext { .. } => CertificateProblem::Expired,
            E::NotValidYet | E::NotValidYetContext { .. } => CertificateProblem::NotYetValid,
            _ => CertificateProblem::Untrusted,
        }
    }

    /// The client-safe explanation, with the fix.
    pub fn describe(self) -> &'static str {
        match self {
            CertificateProblem::Untrusted => {
                "it is not signed by a CA the connection trusts (an admin can give the connection its CA \
                 certificate, or the certificate itself if it signs itself: sluice conn set-options NAME --tls \
                 verify-full --ca-file CA.pem)"
            }
            CertificateProblem::WrongHostName => {
                "it is not issued for the host name the connection uses (the connection's host must be a name \
                 or address the certificate lists)"
            }
            CertificateProblem::Expired => "it has expired (the target needs a renewed certificate)",
            CertificateProblem::NotYetValid => {
                "it is not valid yet (check the clocks of the gateway and the target)"
            }
        }
    }
}

/// Which party an error is attributed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The user's side: their tool sent something wrong, went away, or is not allowed.
    Client,
    /// The infrastructure side: the target database refused, failed or disappeared.
    Target,
    /// sluice itself: recording, store, shutdown.
    Gateway,
}

impl Side {
    /// A lowercase label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Target => "target",
            Side::Gateway => "gateway",
        }
    }
}

/// Everything that can end or refuse a session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The client closed its connection.
    #[error("the client closed the connection")]
    ClientClosed,
    /// Reading from or writing to the client failed.
    #[error("the connection to the client failed")]
    ClientIo(#[source] std::io::Error),
    /// The client sent bytes that are not a valid message at this point.
    #[error("invalid message from the client: {0}")]
    ClientProtocol(#[source] sluice_wire_pg::Error),
    /// The client sent a message that is valid but not allowed in the current phase.
    #[error("unexpected message from the client: {0}")]
    ClientUnexpected(&'static str),
    /// The client sent bytes after its SSLRequest, before the TLS handshake (CVE-2021-23214 style injection).
    #[error("received unencrypted data after the SSL request; refusing the connection")]
    PipelinedBeforeTls,
    /// The TLS handshake with the client failed.
    #[error("the TLS handshake failed")]
    ClientTls(#[source] std::io::Error),
    /// The client asked for something sluice does not offer (replication, TLS when none is configured, ...).
    #[error("{0}")]
    Unsupported(&'static str),
    /// A password would travel in clear text.
    #[error("sluice accepts tokens only over TLS; connect with sslmode=require")]
    TlsRequired,
    /// Unknown, malformed, expired or revoked token, a disabled user, or a token of another user. One message
    /// for all of them so that a client cannot tell which.
    #[error(
        "password authentication failed for user \"{user}\": the sluice token is invalid, expired or revoked"
    )]
    AuthenticationFailed {
        /// The user name the client gave.
        user: String,
    },
    /// The connection does not exist, is of another protocol, or none of the user's groups may use it.
    #[error("user \"{user}\" may not use connection \"{connection}\" (it does not exist, or none of your groups is allowed on it)")]
    NotAllowed {
        /// The user.
        user: String,
        /// The connection name as requested.
        connection: String,
    },
    /// The client asked for another database on a connection that does not allow it.
    #[error("connection \"{connection}\" does not allow choosing another database")]
    OtherDatabaseNotAllowed {
        /// The connection name.
        connection: String,
    },
    /// The connection is configured for another protocol or lacks what this proxy needs.
    #[error("connection \"{connection}\" is misconfigured for {protocol:?}: {reason}")]
    Misconfigured {
        /// The connection name.
        connection: String,
        /// The proxy's protocol.
        protocol: Protocol,
        /// What is wrong (never a secret).
        reason: &'static str,
    },
    /// The target could not be reached.
    #[error("sluice could not reach the target of connection \"{connection}\"")]
    TargetConnect {
        /// The connection name.
        connection: String,
        /// The cause, for logs.
        #[source]
        source: std::io::Error,
    },
    /// The target refused sluice's login or the session start. The target's own text goes to the log only.
    #[error("the target of connection \"{connection}\" refused the session (SQLSTATE {sqlstate}); ask an administrator to check the connection")]
    TargetRefused {
        /// The connection name.
        connection: String,
        /// The target's SQLSTATE.
        sqlstate: String,
    },
    /// Target authentication could not be completed (unsupported method, SCRAM failure, ...).
    #[error("sluice could not log in to the target of connection \"{connection}\": {reason}")]
    TargetAuth {
        /// The connection name.
        connection: String,
        /// What went wrong (never a secret).
        reason: String,
    },
    /// The target sent bytes that are not a valid message.
    #[error("invalid message from the target: {0}")]
    TargetProtocol(#[source] sluice_wire_pg::Error),
    /// The target sent a message that makes no sense at this point.
    #[error("unexpected message from the target: {0}")]
    TargetUnexpected(&'static str),
    /// Reading from or writing to the target failed.
    #[error("the connection to the target failed")]
    TargetIo(#[source] std::io::Error),
    /// The target closed its connection.
    #[error("the target closed the connection")]
    TargetClosed,
    /// The session recording could not be written: the session fails closed.
    #[error("the session recording could not be written, so the session was stopped: {0}")]
    Recording(#[from] sluice_record::RecordError),
    /// The state store failed.
    #[error("{0}")]
    Store(#[from] sluice_store::StoreError),
    /// A target credential could not be unsealed.
    #[error("the target credential of connection \"{connection}\" cannot be unsealed; ask an administrator")]
    Unseal {
        /// The connection name.
        connection: String,
    },
    /// A value must be masked but cannot be in the form it arrived in.
    #[error("a result value of type {type_oid} in binary format would need masking, which sluice cannot do safely; request text format for this query")]
    Unmaskable {
        /// The column's type OID.
        type_oid: u32,
    },
    /// The masking configuration of the policy could not be compiled.
    #[error("the masking configuration of the policy is invalid: {0}")]
    Mask(#[from] sluice_mask::MaskError),
    /// The target's TLS certificate was refused. Said apart from an unreachable target, and the problem named,
    /// because each has a different fix (the full cause, with the host, goes to the log only).
    #[error(
        "sluice refused the TLS certificate of the target of connection \"{connection}\": {}",
        problem.describe()
    )]
    TargetCertificate {
        /// The connection name.
        connection: String,
        /// What is wrong with the certificate.
        problem: CertificateProblem,
    },
    /// The client pipelined more messages than sluice keeps track of.
    #[error("too many pipelined messages without a Sync")]
    TooManyPending,
    /// The gateway is shutting down.
    #[error("the sluice gateway is shutting down")]
    ShuttingDown,
    /// Access was withdrawn while the session ran (user disabled, token revoked, access grant ended).
    #[error("terminating the session on connection \"{connection}\": {}", reason.describe())]
    AccessWithdrawn {
        /// The connection.
        connection: String,
        /// Why.
        reason: crate::access::Withdrawn,
    },
}

impl GatewayError {
    /// Which party the error is attributed to.
    pub fn side(&self) -> Side {
        use GatewayError as E;
        match self {
            E::ClientClosed
            | E::ClientIo(_)
            | E::ClientProtocol(_)
            | E::ClientUnexpected(_)
            | E::PipelinedBeforeTls
            | E::ClientTls(_)
            | E::Unsupported(_)
            | E::TlsRequired
            | E::AuthenticationFailed { .. }
            | E::NotAllowed { .. }
            | E::OtherDatabaseNotAllowed { .. }
            | E::AccessWithdrawn { .. }
            | E::TooManyPending => Side::Client,
            E::TargetConnect { .. }
            | E::TargetCertificate { .. }
            | E::TargetRefused { .. }
            | E::TargetAuth { .. }
            | E::TargetProtocol(_)
            | E::TargetUnexpected(_)
            | E::TargetIo(_)
            | E::TargetClosed => Side::Target,
            E::Misconfigured { .. }
            | E::Recording(_)
            | E::Store(_)
            | E::Unseal { .. }
            | E::Unmaskable { .. }
            | E::Mask(_)
            | E::ShuttingDown => Side::Gateway,
        }
    }

    /// A short stable label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        use GatewayError as E;
        match self {
            E::ClientClosed => "client_closed",
            E::ClientIo(_) => "client_io",
            E::ClientProtocol(_) | E::ClientUnexpected(_) => "client_protocol",
            E::PipelinedBeforeTls => "pipelined_before_tls",
            E::ClientTls(_) => "client_tls",
            E::Unsupported(_) => "unsupported",
            E::TlsRequired => "tls_required",
            E::AuthenticationFailed { .. } => "authentication_failed",
            E::NotAllowed { .. } | E::OtherDatabaseNotAllowed { .. } => "not_allowed",
            E::Misconfigured { .. } => "misconfigured",
            E::TargetConnect { .. } => "target_connect",
            E::TargetCertificate { .. } => "target_certificate",
            E::TargetRefused { .. } => "target_refused",
            E::TargetAuth { .. } => "target_auth",
            E::TargetProtocol(_) | E::TargetUnexpected(_) => "target_protocol",
            E::TargetIo(_) => "target_io",
            E::TargetClosed => "target_closed",
            E::Recording(_) => "recording",
            E::Store(_) => "store",
            E::Unseal { .. } => "unseal",
            E::Unmaskable { .. } => "unmaskable",
            E::Mask(_) => "mask",
            E::TooManyPending => "too_many_pending",
            E::ShuttingDown => "shutting_down",
            E::AccessWithdrawn { .. } => "access_withdrawn",
        }
    }

    /// The SQLSTATE a PostgreSQL client is told (protocol docs, appendix "PostgreSQL Error Codes").
    pub fn sqlstate(&self) -> &'static str {
        use GatewayError as E;
        match self {
            E::ClientProtocol(_) | E::ClientUnexpected(_) | E::PipelinedBeforeTls | E::TooManyPending => {
                "08P01"
            }
            E::TlsRequired
            | E::NotAllowed { .. }
            | E::OtherDatabaseNotAllowed { .. }
            | E::AccessWithdrawn { .. } => "28000",
            E::AuthenticationFailed { .. } => "28P01",
            E::Unsupported(_) => "0A000",
            E::TargetConnect { .. } | E::TargetCertificate { .. } | E::TargetIo(_) | E::TargetClosed => {
                "08006"
            }
            E::TargetRefused { .. } | E::TargetAuth { .. } => "08004",
            E::TargetProtocol(_) | E::TargetUnexpected(_) => "08P01",
            E::ShuttingDown => "57P01",
            E::Unmaskable { .. } => "0A000",
            E::ClientClosed
            | E::ClientIo(_)
            | E::ClientTls(_)
            | E::Misconfigured { .. }
            | E::Recording(_)
            | E::Store(_)
            | E::Unseal { .. }
            | E::Mask(_) => "XX000",
        }
    }

    /// Whether telling the client is pointless (its connection is gone or was never a session).
    pub fn client_unreachable(&self) -> bool {
        matches!(
            self,
            GatewayError::ClientClosed | GatewayError::ClientIo(_) | GatewayError::ClientTls(_)
        )
    }
}
