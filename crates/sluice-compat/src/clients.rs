//! The script clients (psycopg 3, node-postgres, pgJDBC): finding them, running their scenario, collecting reports.
//!
//! A missing interpreter, library or driver is an error naming the package to install, never a skipped test.

use crate::endpoint::{Endpoint, Expectations};
use crate::error::{CompatError, Result};
use crate::report::ScenarioReport;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long one scenario may run before it is killed: the slowest step (the cancel) takes about a second, so this only
/// bounds a hang.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(180);
/// pgJDBC as Debian installs it.
const PGJDBC_JAR: &str = "/usr/share/java/postgresql.jar";

/// A client whose scenario is a script under `compat/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptClient {
    /// psycopg 3 (`compat/python/scenario.py`, run by the venv's Python).
    Psycopg,
    /// node-postgres (`compat/node/scenario.js`).
    NodePostgres,
    /// pgJDBC (`compat/java/Scenario.java`, compiled with javac into a temporary directory).
    PgJdbc,
}

impl ScriptClient {
    /// Every script client.
    pub const ALL: [ScriptClient; 3] = [
        ScriptClient::Psycopg,
        ScriptClient::NodePostgres,
        ScriptClient::PgJdbc,
    ];

    /// The name the client reports in its step lines.
    pub fn name(self) -> &'static str {
        match self {
            ScriptClient::Psycopg => "psycopg",
            ScriptClient::NodePostgres => "node-postgres",
            ScriptClient::PgJdbc => "pgjdbc",
        }
    }

    /// Runs the scenario against `endpoint` and parses its report (not yet judged: see [`ScenarioReport::check`]).
    pub fn run(self, endpoint: &Endpoint, expectations: &Expectations) -> Result<ScenarioReport> {
        // Holds the compiled Java classes until the run is over.
        let mut scratch = None;
        let mut command = match self {
            ScriptClient::Psycopg => psycopg_command()?,
            ScriptClient::NodePostgres => node_command()?,
            ScriptClient::PgJdbc => {
                let classes = tempfile::Builder::new()
                    .prefix("sluice-compat-java-")
                    .tempdir()
                    .map_err(|err| CompatError::io("creating a directory for the Java classes", err))?;
                let command = java_command(classes.path())?;
                scratch = Some(classes);
                command
            }
        };
        endpoint.apply_env(&mut command);
        command.args(expectations.args());
        let output = run_bounded(&mut command, self.name(), SCENARIO_TIMEOUT)?;
        drop(scratch);
        ScenarioReport::parse(
            self.name(),
            &output.stdout,
            output.status.success(),
            output.stderr,
        )
    }
}

/// The `compat/` directory of this working tree.
pub fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../compat")
}

/// The Python venv compat/setup installs psycopg into.
fn venv_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SLUICE_COMPAT_VENV") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/sluice-compat/venv")
}

fn existing_file(path: PathBuf) -> Result<PathBuf> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(CompatError::MissingFile(path))
    }
}

fn psycopg_command() -> Result<Command> {
    let python = venv_dir().join("bin/python");
    let missing = || CompatError::MissingClient {
        what: format!("psycopg 3 (in the venv {})", venv_dir().display()),
        package: "the PyPI package psycopg[binary]".to_owned(),
    };
    if !python.is_file() {
        return Err(missing());
    }
    let probe = Command::new(&python)
        .args(["-c", "import psycopg"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|err| CompatError::io(format!("running {}", python.display()), err))?;
    if !probe.success() {
        return Err(missing());
    }
    let mut command = Command::new(python);
    command.arg(existing_file(compat_dir().join("python/scenario.py"))?);
    Ok(command)
}

fn node_command() -> Result<Command> {
    let node = find_program("node", "the Debian package nodejs")?;
    let node_dir = compat_dir().join("node");
    for module in ["pg", "pg-copy-streams"] {
        if !node_dir.join("node_modules").join(module).is_dir() {
            return Err(CompatError::MissingClient {
                what: format!("node module {module} (in compat/node/node_modules)"),
                package: format!("the npm package {module}"),
            });
        }
    }
    let mut command = Command::new(node);
    command.arg(existing_file(node_dir.join("scenario.js"))?);
    Ok(command)
}

/// Compiles `Scenario.java` into `classes` and returns the command that runs it.
fn java_command(classes: &Path) -> Result<Command> {
    let jar = Path::new(PGJDBC_JAR);
    if !jar.is_file() {
        return Err(CompatError::MissingClient {
            what: format!("pgJDBC ({PGJDBC_JAR})"),
            package: "the Debian package libpostgresql-jdbc-java".to_owned(),
        });
    }
    let javac = find_program("javac", "the Debian package default-jdk-headless")?;
    let java = find_program("java", "the Debian package default-jdk-headless")?;
    let source = existing_file(compat_dir().join("java/Scenario.java"))?;
    let compile = run_bounded(
        Command::new(javac)
            .arg("-cp")
            .arg(jar)
            .arg("-d")
            .arg(classes)
            .arg(source),
        "javac",
        SCENARIO_TIMEOUT,
    )?;
    if !compile.status.success() {
        return Err(CompatError::Program {
            program: "javac".to_owned(),
            status: compile.status.to_string(),
            output: compile.stderr.trim().to_owned(),
        });
    }
    let mut classpath = classes.as_os_str().to_owned();
    classpath.push(":");
    classpath.push(jar);
    let mut command = Command::new(java);
    command.arg("-cp").arg(classpath).arg("Scenario");
    Ok(command)
}

/// The full path of `program` on `PATH`, or an error naming `package`.
pub fn find_program(program: &str, package: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| CompatError::MissingClient {
            what: format!("`{program}`"),
            package: package.to_owned(),
        })
}

/// What a finished program printed.
#[derive(Debug)]
pub struct Output {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its stdout, lossily decoded.
    pub stdout: String,
    /// Its stderr, lossily decoded.
    pub stderr: String,
}

/// Runs `command` to completion with stdin closed, killing it after `timeout` (an error naming `what`).
pub fn run_bounded(command: &mut Command, what: &str, timeout: Duration) -> Result<Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| CompatError::io(format!("starting {what}"), err))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_bounded(&mut child, what, timeout)?;
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Waits for `child`, killing it after `timeout`.
pub fn wait_bounded(child: &mut Child, what: &str, timeout: Duration) -> Result<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|err| CompatError::io(format!("waiting for {what}"), err))?
        {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            // Already exited or not killable: either way there is nothing more to do than report the hang.
            let _ = child.kill();
            let _ = child.wait();
            return Err(CompatError::io(
                format!("running {what}"),
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no exit after {timeout:?}; killed"),
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads a pipe to its end on a thread, so a child filling one pipe never blocks on the other.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error ends the capture; what was read so far is still reported.
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
