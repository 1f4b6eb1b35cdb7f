//! Start-up benchmark: time from launching `tumbler serve` to its first 200 from `/healthz`,
//! on a new data directory (keys created, migrations applied) and on an existing one.
//! Goal: under a second on SQLite. It prints figures and asserts nothing.
//!
//! CI runs a smoke size with the dev profile: `STARTUP_BENCH_RUNS=3 cargo test -p tumbler-cli --bench startup`.
//! The full run: `cargo bench -p tumbler-cli --bench startup` (`STARTUP_BENCH_RUNS`, default 20).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn healthz_ok(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.1 200")
}

fn one_start(data: &Path) -> Duration {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tumbler"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let addr = out
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("Listening on http://").map(str::to_owned))
        .expect("the server prints its address");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !healthz_ok(&addr) {
        assert!(Instant::now() < deadline, "no answer from /healthz");
    }
    let elapsed = started.elapsed();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    elapsed
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = times[times.len() / 2];
    println!(
        "{label:<28} runs={:<3} min={:>7.1} ms  median={:>7.1} ms  max={:>7.1} ms  goal<1000 ms: {}",
        times.len(),
        ms(times[0]),
        ms(median),
        ms(times[times.len() - 1]),
        if median < Duration::from_secs(1) { "met" } else { "MISSED" }
    );
}

fn main() {
    let runs: usize = std::env::var("STARTUP_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
        .max(1);
    let first: Vec<Duration> = (0..runs)
        .map(|_| one_start(tempfile::tempdir().unwrap().path()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    one_start(dir.path());
    let again: Vec<Duration> = (0..runs).map(|_| one_start(dir.path())).collect();
    println!("tumbler start-up, launch to first 200 from /healthz (SQLite):");
    report("first start (new data dir)", first);
    report("restart (existing data dir)", again);
}
