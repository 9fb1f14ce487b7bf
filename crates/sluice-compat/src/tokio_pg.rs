//! The scenario for tokio-postgres, step for step the same as the scripts under `compat/` (see compat/README.md), so
//! the harness judges its reports the same way.

use crate::endpoint::{CardExpectation, DropExpectation, Endpoint, Expectations, SslMode};
use crate::error::Result;
use crate::report::{Outcome, ScenarioReport, StepReport, INSUFFICIENT_PRIVILEGE, QUERY_CANCELED};
use crate::tls;
use futures_util::{SinkExt as _, TryStreamExt as _};
use std::time::{Duration, Instant};
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::Client;

/// The name this client reports.
pub const CLIENT: &str = "tokio-postgres";
/// A Luhn-valid test card number (Visa's documented test number): masking detectors must recognise it.
const CARD: &str = "4111111111111111";
const CANCEL_AFTER: Duration = Duration::from_millis(500);
const CANCEL_LIMIT: Duration = Duration::from_secs(5);

/// What a step saw when its statements completed.
struct Observed {
    rows: Option<u64>,
    check_ok: bool,
    detail: String,
}

impl Observed {
    fn new(rows: Option<u64>, check_ok: bool, detail: impl Into<String>) -> Observed {
        Observed {
            rows,
            check_ok,
            detail: detail.into(),
        }
    }
}

type StepResult = Result<Observed, tokio_postgres::Error>;

/// Collects the step reports.
#[derive(Default)]
struct Steps {
    reports: Vec<StepReport>,
}

impl Steps {
    fn push(
        &mut self,
        step: &str,
        outcome: Outcome,
        sqlstate: Option<String>,
        rows: Option<u64>,
        expected: &str,
    ) {
        let pass = match outcome {
            Outcome::Ok => expected == "ok",
            Outcome::Error => sqlstate.as_deref() == Some(expected),
        };
        self.reports.push(StepReport {
            client: CLIENT.to_owned(),
            step: step.to_owned(),
            outcome,
            sqlstate,
            rows,
            expected: expected.to_owned(),
            pass,
            detail: String::new(),
        });
    }

    /// Records `result` as step `step`, which should end in `expected` (`ok` or a SQLSTATE).
    fn record(&mut self, step: &str, expected: &str, result: StepResult) {
        match result {
            Ok(seen) => {
                self.push(step, Outcome::Ok, None, seen.rows, expected);
                if let Some(report) = self.reports.last_mut() {
                    report.pass = report.pass && seen.check_ok;
                    report.detail = seen.detail;
                }
            }
            Err(err) => {
                self.push(step, Outcome::Error, sqlstate(&err), None, expected);
                if let Some(report) = self.reports.last_mut() {
                    report.detail = message(&err);
                }
            }
        }
    }
}

fn sqlstate(err: &tokio_postgres::Error) -> Option<String> {
    err.code().map(|code| code.code().to_owned())
}

fn message(err: &tokio_postgres::Error) -> String {
    err.as_db_error()
        .map_or_else(|| err.to_string(), |db| db.message().to_owned())
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Runs the scenario against `endpoint`. A failed connection is reported as a failed `connect` step; only a TLS
/// configuration that cannot be built (e.g. an unreadable root certificate) is an error.
pub async fn run(endpoint: &Endpoint, expectations: &Expectations) -> Result<ScenarioReport> {
    let mut steps = Steps::default();
    let connector = tls::connector(endpoint)?;
    let client = match connect_with(endpoint, connector.clone()).await {
        Ok(client) => {
            steps.record("connect", "ok", Ok(Observed::new(None, true, "")));
            client
        }
        Err(err) => {
            steps.record("connect", "ok", Err(err));
            return Ok(finish(steps));
        }
    };
    let suffix = run_suffix();
    let table = quote(&format!("compat_tokio_{suffix}_{}", unique()));
    let victim = quote(
        &expectations
            .drop_table
            .clone()
            .unwrap_or_else(|| format!("compat_tokio_victim_{suffix}_{}", unique())),
    );

    steps.record("select", "ok", select_one(&client).await);
    steps.record(
        "create_table",
        "ok",
        create_tables(&client, &table, &victim, expectations).await,
    );
    steps.record("insert", "ok", insert(&client, &table).await);
    steps.record("prepared", "ok", prepared(&client, &table).await);
    steps.record(
        "masked_card",
        "ok",
        masked_card(&client, &table, expectations.card).await,
    );
    steps.record("copy_in", "ok", copy_in(&client, &table).await);
    steps.record("copy_out", "ok", copy_out(&client, &table).await);
    let drop = format!("DROP TABLE {victim}");
    match expectations.drop {
        DropExpectation::Refused => {
            let result = client.batch_execute(&drop).await;
            steps.record(
                "drop_table",
                INSUFFICIENT_PRIVILEGE,
                result.map(|()| Observed::new(None, true, "")),
            );
        }
        DropExpectation::Allowed => {
            let result = client.batch_execute(&drop).await;
            steps.record("drop_table", "ok", result.map(|()| Observed::new(None, true, "")));
        }
        DropExpectation::Skip => {}
    }
    steps.record("after_refusal", "ok", select_one(&client).await);
    steps.record(
        "tx_rollback",
        "ok",
        tx_rollback(&client, &table, &drop, expectations.drop).await,
    );
    cancel(&client, connector, &mut steps).await;
    steps.record("after_cancel", "ok", select_one(&client).await);
    Ok(finish(steps))
}

/// Connects to `endpoint` as the scenario does (TLS per its `sslmode`), driving the connection on a spawned task.
pub async fn connect(endpoint: &Endpoint) -> Result<Result<Client, tokio_postgres::Error>> {
    Ok(connect_with(endpoint, tls::connector(endpoint)?).await)
}

async fn connect_with(
    endpoint: &Endpoint,
    connector: tokio_postgres_rustls::MakeRustlsConnect,
) -> Result<Client, tokio_postgres::Error> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&endpoint.host)
        .port(endpoint.port)
        .user(&endpoint.user)
        .password(endpoint.password.expose())
        .dbname(&endpoint.dbname)
        .application_name("sluice-compat-tokio-postgres")
        .connect_timeout(Duration::from_secs(10))
        .ssl_mode(match endpoint.sslmode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require | SslMode::VerifyFull => PgSslMode::Require,
        });
    let (client, connection) = config.connect(connector).await?;
    // The connection task ends with the client; its error, if any, surfaces in the client's next call.
    tokio::spawn(connection);
    Ok(client)
}

fn finish(steps: Steps) -> ScenarioReport {
    let exited_ok = steps.reports.iter().all(|report| report.pass);
    ScenarioReport {
        client: CLIENT.to_owned(),
        steps: steps.reports,
        exited_ok,
        stderr: String::new(),
    }
}

/// Distinguishes this run's tables from other runs' on the same server: process id and clock.
fn run_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    format!("{:x}_{nanos:x}", std::process::id())
}

/// A per-process counter, so two runs in one test process never pick the same table name.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

async fn select_one(client: &Client) -> StepResult {
    let rows = client.query("SELECT 1 AS one", &[]).await?;
    let values: Vec<i32> = rows.iter().map(|row| row.get(0)).collect();
    Ok(Observed::new(
        Some(rows.len() as u64),
        values == [1],
        format!("value={values:?}"),
    ))
}

async fn create_tables(
    client: &Client,
    table: &str,
    victim: &str,
    expectations: &Expectations,
) -> StepResult {
    client
        .batch_execute(&format!(
            "CREATE TABLE {table} (id int PRIMARY KEY, name text, card_number text)"
        ))
        .await?;
    if expectations.drop_table.is_none() {
        client
            .batch_execute(&format!("CREATE TABLE {victim} (id int)"))
            .await?;
    }
    Ok(Observed::new(None, true, table))
}

async fn insert(client: &Client, table: &str) -> StepResult {
    let sql = format!("INSERT INTO {table} (id, name, card_number) VALUES ($1, $2, $3)");
    let mut total = 0;
    for (id, name, card) in [(1_i32, "alice", Some(CARD)), (2, "bob", None), (3, "carol", None)] {
        total += client.execute(&sql, &[&id, &name, &card]).await?;
    }
    Ok(Observed::new(Some(total), total == 3, ""))
}

async fn prepared(client: &Client, table: &str) -> StepResult {
    // A named server-side statement: parsed once, then bound and executed per key.
    let statement = client
        .prepare(&format!("SELECT name FROM {table} WHERE id = $1"))
        .await?;
    let mut names: Vec<String> = Vec::new();
    for id in 1_i32..=3 {
        for row in client.query(&statement, &[&id]).await? {
            names.push(row.get(0));
        }
    }
    let ok = names == ["alice", "bob", "carol"];
    Ok(Observed::new(
        Some(names.len() as u64),
        ok,
        format!("names={names:?}"),
    ))
}

async fn masked_card(client: &Client, table: &str, expectation: CardExpectation) -> StepResult {
    let rows = client
        .query(&format!("SELECT card_number FROM {table} WHERE id = 1"), &[])
        .await?;
    let values: Vec<Option<String>> = rows.iter().map(|row| row.get(0)).collect();
    let [value] = values.as_slice() else {
        return Ok(Observed::new(
            Some(values.len() as u64),
            false,
            "expected exactly one row",
        ));
    };
    let seen = match expectation {
        CardExpectation::Raw if value.as_deref() == Some(CARD) => {
            Observed::new(Some(1), true, "raw value returned")
        }
        CardExpectation::Raw => Observed::new(Some(1), false, "value differs from the raw number"),
        CardExpectation::Masked => match value {
            Some(text) if !text.contains(CARD) => Observed::new(Some(1), true, "masked"),
            _ => Observed::new(Some(1), false, "the raw card number came back unmasked"),
        },
    };
    Ok(seen)
}

async fn copy_in(client: &Client, table: &str) -> StepResult {
    let data: String = (100..200).map(|id| format!("{id}\tcopied-{id}\t\\N\n")).collect();
    let sink = client
        .copy_in::<_, bytes::Bytes>(&format!("COPY {table} (id, name, card_number) FROM STDIN"))
        .await?;
    let mut sink = std::pin::pin!(sink);
    sink.send(bytes::Bytes::from(data)).await?;
    let rows = sink.as_mut().finish().await?;
    Ok(Observed::new(Some(rows), rows == 100, ""))
}

async fn copy_out(client: &Client, table: &str) -> StepResult {
    let stream = client
        .copy_out(&format!(
            "COPY (SELECT id, name FROM {table} ORDER BY id) TO STDOUT"
        ))
        .await?;
    let chunks: Vec<_> = stream.try_collect().await?;
    let rows = chunks
        .iter()
        .map(|chunk| chunk.iter().filter(|byte| **byte == b'\n').count() as u64)
        .sum::<u64>();
    Ok(Observed::new(Some(rows), rows == 103, ""))
}

async fn tx_rollback(client: &Client, table: &str, drop: &str, expectation: DropExpectation) -> StepResult {
    client.batch_execute("BEGIN").await?;
    client
        .batch_execute(&format!("INSERT INTO {table} (id, name) VALUES (1000, 'in-tx')"))
        .await?;
    let detail = if expectation == DropExpectation::Refused {
        tx_refusal(client, drop).await
    } else {
        "no refusal expected".to_owned()
    };
    client.batch_execute("ROLLBACK").await?;
    let row = client
        .query_one(&format!("SELECT count(*) FROM {table} WHERE id = 1000"), &[])
        .await?;
    let left: i64 = row.get(0);
    let left = u64::try_from(left).unwrap_or(u64::MAX);
    Ok(Observed::new(
        Some(left),
        left == 0 && !detail.starts_with("FAIL"),
        detail,
    ))
}

/// Inside an open transaction: the DROP must fail with 42501, then the transaction is aborted (25P02).
async fn tx_refusal(client: &Client, drop: &str) -> String {
    match client.batch_execute(drop).await {
        Ok(()) => return "FAIL: the DROP inside the transaction was not refused".to_owned(),
        Err(err) if sqlstate(&err).as_deref() != Some(INSUFFICIENT_PRIVILEGE) => {
            return format!("FAIL: DROP gave {:?}, expected 42501", sqlstate(&err))
        }
        Err(_) => {}
    }
    match client.batch_execute("SELECT 1").await {
        Ok(()) => "FAIL: the transaction was not left aborted after the refusal".to_owned(),
        Err(err) if sqlstate(&err).as_deref() != Some("25P02") => {
            format!(
                "FAIL: SELECT after the refusal gave {:?}, expected 25P02",
                sqlstate(&err)
            )
        }
        Err(_) => "refused with 42501, transaction aborted (25P02), rolled back".to_owned(),
    }
}

/// `pg_sleep(30)` cancelled after half a second through a CancelRequest on a new connection (the cancel token).
async fn cancel(client: &Client, connector: tokio_postgres_rustls::MakeRustlsConnect, steps: &mut Steps) {
    let token = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(CANCEL_AFTER).await;
        token.cancel_query(connector).await
    });
    let started = Instant::now();
    let result = client.batch_execute("SELECT pg_sleep(30)").await;
    let elapsed = started.elapsed();
    let cancel_error = match canceller.await {
        Ok(Ok(())) => String::new(),
        Ok(Err(err)) => format!(", cancel request failed: {err}"),
        Err(err) => format!(", cancel task failed: {err}"),
    };
    let detail = format!("elapsed_ms={}{cancel_error}", elapsed.as_millis());
    match result {
        Ok(()) => {
            steps.push("cancel", Outcome::Ok, None, Some(1), QUERY_CANCELED);
            if let Some(report) = steps.reports.last_mut() {
                report.detail = format!("not cancelled, {detail}");
            }
        }
        Err(err) => {
            steps.push("cancel", Outcome::Error, sqlstate(&err), None, QUERY_CANCELED);
            if let Some(report) = steps.reports.last_mut() {
                report.pass = report.pass && elapsed < CANCEL_LIMIT;
                report.detail = detail;
            }
        }
    }
}
