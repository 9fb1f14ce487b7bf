//! The `sluice` command line. `sluice gateway` runs the gateway; every other subcommand is a client of the REST
//! API (`--url`/`SLUICE_URL`, `--token`/`SLUICE_TOKEN`, `--ca-cert`/`SLUICE_CA_CERT` for HTTPS). Listings print aligned tables, or JSON with `--json`.

mod client;
mod commands;
mod connect;
mod keys;
mod login;
mod replay_terminal;
mod review;
mod serve;
mod sessions;
mod table;
mod trust;

use clap::{Args, Parser, Subcommand};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Default API address for client commands: the gateway's default listen address.
const DEFAULT_URL: &str = "http://127.0.0.1:8009";

/// sluice — an identity-aware Layer-7 access gateway.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about, propagate_version = true)]
pub struct Cli {
    /// Gateway API address for client commands: http://HOST:PORT, or https://HOST:PORT when the gateway serves
    /// the API over TLS (`[api] tls = true`); HTTPS always verifies the gateway's certificate.
    #[arg(long, global = true, env = "SLUICE_URL", default_value = DEFAULT_URL)]
    url: String,
    /// CA certificate (PEM) to trust for the gateway, besides the system's trust store for https:// API URLs
    /// (and, for `sluice login`, for the identity provider); `sluice connect` trusts only it [default: the local
    /// gateway's $SLUICE_DATA_DIR/tls/cert.pem, else ./sluice-data/tls/cert.pem]
    #[arg(long, global = true, env = "SLUICE_CA_CERT", value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// API token for client commands (prefer SLUICE_TOKEN: command lines are visible to other users).
    #[arg(long, global = true, env = "SLUICE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway: the REST API and the PostgreSQL and SSH listeners.
    Gateway(GatewayArgs),
    /// Show who the token belongs to.
    Whoami {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Manage users and service accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage the SSH public keys you log in to the SSH gateway with.
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// Manage target connections.
    #[command(subcommand)]
    Conn(ConnCommand),
    /// Manage the guardrail policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Read the control-plane audit log; verify session recordings.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// List recorded sessions (yours; admins and auditors see all).
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Replay a recorded session: a terminal (SSH) session plays in your terminal with its timing (pauses over
    /// 2 s are shortened to 2 s); a database session shows its statements, verdicts, timings and the rows as the
    /// client saw them.
    Replay {
        /// Session id (see `sluice sessions list`).
        session: String,
        /// What to print: `text` (the replay), `events` (every event with its time, terminal bytes escaped),
        /// `json` (the recording as JSON lines), `asciicast` (asciicast v2 of a terminal session:
        /// `sluice replay --format asciicast ID > file.cast`, then `asciinema play file.cast`).
        #[arg(long, value_enum, default_value_t = sessions::ReplayFormat::Text)]
        format: sessions::ReplayFormat,
        /// Same as `--format json`.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// Playback speed of a terminal session: 2 plays twice as fast, 0.5 half as fast.
        #[arg(long, default_value_t = 1.0, value_parser = replay_terminal::parse_speed)]
        speed: f64,
        /// Play a terminal session without pauses.
        #[arg(long)]
        no_wait: bool,
    },
    /// Open a local PostgreSQL port that logs in to a connection with your token.
    Connect(ConnectArgs),
    /// Statements held for approval: list, show, approve, deny.
    #[command(subcommand)]
    Review(review::ReviewCommand),
    /// Time-bound access to a connection: request, list, approve, deny.
    #[command(subcommand)]
    Request(review::RequestCommand),
    /// Log in with the organisation's identity provider (OpenID Connect); saves a session token for this gateway.
    Login(login::LoginArgs),
    /// Revoke the saved session token and delete it.
    Logout,
}

#[derive(Debug, Subcommand)]
enum SessionsCommand {
    /// List sessions, newest first.
    List {
        /// Only this user's sessions (admins and auditors).
        #[arg(long)]
        user: Option<String>,
        /// Only sessions to this connection.
        #[arg(long)]
        conn: Option<String>,
        /// Since an RFC 3339 time, or a duration ago such as 2h.
        #[arg(long)]
        since: Option<String>,
        /// At most this many sessions (1-1000, default 100).
        #[arg(long)]
        limit: Option<u32>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `sluice connect`
#[derive(Debug, Args)]
struct ConnectArgs {
    /// The PostgreSQL connection to open.
    connection: String,
    /// Local port to listen on (127.0.0.1 only).
    #[arg(long, default_value_t = 5433)]
    port: u16,
    /// The gateway's PostgreSQL listener, HOST:PORT [default: the API host, port 15432]
    #[arg(long, env = "SLUICE_PG_ADDR")]
    gateway: Option<String>,
}

/// `sluice gateway`
#[derive(Debug, Args)]
struct GatewayArgs {
    /// Data directory [env: SLUICE_DATA_DIR] [default: ./sluice-data]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// TOML configuration file [env: SLUICE_CONFIG]
    #[arg(long)]
    config: Option<PathBuf>,
    /// State store URL, e.g. postgres://user@host/db [env: SLUICE_STORE] [default: SQLite in the data directory]
    #[arg(long)]
    store: Option<String>,
    /// REST API listen address [env: SLUICE_API_LISTEN] [default: 127.0.0.1:8009]
    #[arg(long)]
    api_listen: Option<String>,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user (or, with --service, a service account for CI jobs and agents).
    Add {
        /// Unique user name.
        name: String,
        /// Control-plane role.
        #[arg(long, default_value = "user", value_parser = ["admin", "auditor", "user"])]
        role: String,
        /// Group membership (repeatable); groups decide which connections the user may use.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Create a service account (authenticates with tokens only).
        #[arg(long)]
        service: bool,
    },
    /// List users.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one user.
    Show {
        /// User name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace a user's groups (which decide the connections they may use).
    SetGroups {
        /// User name.
        name: String,
        /// The complete new group list (repeatable; none removes every group).
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    /// Disable a user: their tokens stop working on the next request.
    Disable {
        /// User name.
        name: String,
    },
    /// Enable a disabled user.
    Enable {
        /// User name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it once.
    Create {
        /// Owner (admins only; default: yourself).
        #[arg(long)]
        user: Option<String>,
        /// Lifetime such as 90s, 15m, 12h, 7d, 1h30m (default 30d, at most 365d).
        #[arg(long)]
        ttl: Option<String>,
        /// Label to recognise the token by.
        #[arg(long)]
        name: Option<String>,
        /// Print JSON (including the token).
        #[arg(long)]
        json: bool,
    },
    /// List tokens (yours; admins see all).
    List {
        /// Only this user's tokens (admins).
        #[arg(long)]
        user: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id; it stops working on its next request.
    Revoke {
        /// Token id (see `sluice token list`).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConnCommand {
    /// Add a connection. Its credential is sealed by the gateway and never shown again.
    Add(Box<ConnAddArgs>),
    /// Change a connection's host, port, login, database, groups or credential; what is not given stays. New
    /// sessions use the new values.
    Update(Box<ConnUpdateArgs>),
    /// Replace a connection's options with exactly the ones given (no flags: none); new sessions use them.
    SetOptions {
        /// Connection name.
        name: String,
        /// The new options.
        #[command(flatten)]
        options: ConnOptionArgs,
    },
    /// List the connections you may use (admins: all).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one connection (its credential only as `set` / `not set`).
    Show {
        /// Connection name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a connection.
    Rm {
        /// Connection name.
        name: String,
    },
}

/// `sluice conn add`
#[derive(Debug, Args)]
struct ConnAddArgs {
    /// Unique connection name (clients ask for it by this name).
    name: String,
    /// Target protocol.
    #[arg(long = "type", value_parser = ["postgres", "mysql", "ssh", "http"])]
    protocol: String,
    /// Target host.
    #[arg(long)]
    host: String,
    /// Target port (default: the protocol's usual port).
    #[arg(long)]
    port: Option<u16>,
    /// User the gateway logs in to the target as.
    #[arg(long)]
    user: Option<String>,
    /// Read the target password from standard input (never from the command line).
    #[arg(long, conflicts_with = "key_file")]
    password_stdin: bool,
    /// SSH private key file for the target.
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Database name at the target.
    #[arg(long)]
    database: Option<String>,
    /// Group allowed to use the connection (repeatable).
    #[arg(long = "group")]
    groups: Vec<String>,
    /// Protocol options.
    #[command(flatten)]
    options: ConnOptionArgs,
}

/// `sluice conn update`
#[derive(Debug, Args)]
struct ConnUpdateArgs {
    /// Connection name.
    name: String,
    /// New target host.
    #[arg(long)]
    host: Option<String>,
    /// New target port.
    #[arg(long)]
    port: Option<u16>,
    /// New user the gateway logs in to the target as ("" clears it).
    #[arg(long)]
    user: Option<String>,
    /// New database name at the target ("" clears it).
    #[arg(long)]
    database: Option<String>,
    /// Groups allowed to use the connection, replacing the current ones (repeatable).
    #[arg(long = "group")]
    groups: Vec<String>,
    /// Read a new target password from standard input (never from the command line).
    #[arg(long, conflicts_with = "key_file")]
    password_stdin: bool,
    /// New SSH private key file for the target.
    #[arg(long)]
    key_file: Option<PathBuf>,
}

/// The options of a connection, for `conn add` and `conn set-options`.
#[derive(Debug, Args)]
struct ConnOptionArgs {
    /// PostgreSQL: TLS towards the target, always verifying its certificate and host name (`require` and
    /// `verify-full` are the same).
    #[arg(long, value_parser = ["disable", "require", "verify-full"])]
    tls: Option<String>,
    /// PostgreSQL: CA certificates (PEM) to verify the target with, instead of the system's trust store (like
    /// libpq's sslrootcert). Needs --tls.
    #[arg(long, requires = "tls")]
    ca_file: Option<PathBuf>,
    /// PostgreSQL: clients may ask for another database on the target as CONNECTION/DATABASE.
    #[arg(long)]
    allow_other_databases: bool,
    /// Only reading statements and commands pass (the policy's built-in read-only guardrail).
    #[arg(long)]
    read_only: bool,
    /// A tag policy rule sets can select the connection by (repeatable).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Any other protocol option, as KEY=VALUE (repeatable); VALUE is read as JSON when it parses (true, 1048576,
    /// ["a","b"]), else as text. E.g. --option exec_only=true for SSH. Unknown keys are refused by the gateway.
    #[arg(long = "option", value_name = "KEY=VALUE")]
    options: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validate and upload a policy file; an invalid file is refused whole.
    Apply {
        /// Policy file (TOML).
        file: PathBuf,
    },
    /// Print the active policy.
    Show {
        /// Print JSON (with version and author).
        #[arg(long)]
        json: bool,
    },
    /// Validate a policy file offline, without a gateway.
    Check {
        /// Policy file (TOML).
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// List audit entries, newest first.
    List {
        /// Since an RFC 3339 time, or a duration ago such as 2h.
        #[arg(long)]
        since: Option<String>,
        /// Only changes by this user.
        #[arg(long)]
        actor: Option<String>,
        /// Only this action, e.g. connection.create.
        #[arg(long)]
        action: Option<String>,
        /// At most this many entries (1-1000, default 100).
        #[arg(long)]
        limit: Option<u32>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify a session recording's hash chain; exits non-zero and names the first broken link when it is broken.
    Verify {
        /// Session id.
        session: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Parses the command line, runs the command and returns the process exit code. Errors are printed as
/// `error: ...` on standard error.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let api = client::Endpoint::new(&cli.url, cli.ca_cert);
    let result = match cli.command {
        Command::Gateway(args) => serve::run(args),
        Command::Login(args) => login::login(&api, args, &mut std::io::stdout().lock()),
        Command::Logout => login::logout(&api, cli.token, &mut std::io::stdout().lock()),
        Command::Whoami { json } => login::whoami(&api, cli.token, json, &mut std::io::stdout().lock()),
        // Without --token or SLUICE_TOKEN, the session saved by `sluice login` for this gateway is used.
        command => commands::run(&api, login::token_for(&cli.url, cli.token), command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut err = std::io::stderr().lock();
            // Nothing sensible to do if standard error is gone.
            let _ = writeln!(err, "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
