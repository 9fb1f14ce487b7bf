//! Throughput of `cat` of a large file and of `scp`, direct to the target sshd vs through sluice (output recording
//! on and off). Not part of the test suite (`test = false` in Cargo.toml); `bench/ssh/run` runs it in release mode
//! and prints the ratios.
//! Size: `SLUICE_BENCH_MB` (default 256).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

mod support;

use std::process::{Command, Stdio};
use std::time::Instant;

use support::{Harness, Options};

fn timed(mut command: Command) -> f64 {
    let started = Instant::now();
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .unwrap();
    assert!(status.success(), "{command:?}");
    started.elapsed().as_secs_f64()
}

#[test]
fn ssh_throughput_direct_vs_sluice() {
    let mb: usize = std::env::var("SLUICE_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let full = Harness::start();
    let input_only = Harness::start_with(Options {
        connection_options: serde_json::json!({ "record_output": false }),
        ..Options::default()
    });
    let file = full.dir.path().join("big.bin");
    let status = Command::new("head")
        .args(["-c", &format!("{}M", mb)])
        .arg("/dev/urandom")
        .stdout(std::fs::File::create(&file).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let cat = format!("cat {}", file.display());
    let mut direct_cat = full.sshd.ssh_command();
    direct_cat.arg(&cat);
    let t_direct = timed(direct_cat);
    let mut c = input_only.ssh();
    c.arg(&cat);
    let t_input_only = timed(c);
    let mut c = full.ssh();
    c.arg(&cat);
    let t_full = timed(c);

    let dest = full.dir.path().join("copy.bin");
    let mut direct_scp = Command::new("scp");
    direct_scp
        .args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
        ])
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            full.sshd.known_hosts_path().display()
        ))
        .args(["-o", "IdentitiesOnly=yes", "-i"])
        .arg(full.sshd.client_key_path())
        .args(["-P", &full.sshd.port().to_string()])
        .arg(&file)
        .arg(format!("{}@127.0.0.1:{}", full.sshd.user(), dest.display()));
    let s_direct = timed(direct_scp);
    let mut c = full.scp();
    c.arg(&file)
        .arg(format!("alice%web-1@127.0.0.1:{}", dest.display()));
    let s_sluice = timed(c);

    let rate = |t: f64| mb as f64 / t;
    println!("ssh throughput, {mb} MiB (MiB/s; ratio = sluice / direct)");
    println!("cat  direct                     {:8.1}", rate(t_direct));
    println!(
        "cat  sluice, output not recorded {:8.1}  ratio {:.2}",
        rate(t_input_only),
        t_direct / t_input_only
    );
    println!(
        "cat  sluice, fully recorded      {:8.1}  ratio {:.2}",
        rate(t_full),
        t_direct / t_full
    );
    println!("scp  direct                     {:8.1}", rate(s_direct));
    println!(
        "scp  sluice (transfers recorded) {:8.1}  ratio {:.2}",
        rate(s_sluice),
        s_direct / s_sluice
    );
}
