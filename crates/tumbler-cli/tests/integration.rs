//! The `tumbler` binary as a user runs it: first start, SIGTERM, host-side admin commands,
//! config checks, audit verification, backup and restore, master key rotation, PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tumbler_api_types::answers::ExecutionStarted;
use tumbler_api_types::change_secret::ExecutionView;
use tumbler_api_types::inventory::VerifyOut;

#[path = "integration/admin.rs"]
mod admin;
#[path = "integration/audit.rs"]
mod audit;
#[path = "integration/client.rs"]
mod client;
#[path = "integration/crash.rs"]
mod crash;
#[path = "integration/device_keys.rs"]
mod device_keys;
#[path = "integration/master_key.rs"]
mod master_key;
#[path = "integration/random_kill.rs"]
mod random_kill;
#[path = "integration/restore.rs"]
mod restore;

const BIN: &str = env!("CARGO_BIN_EXE_tumbler");
const WAIT: Duration = Duration::from_secs(30);

/// A `tumbler serve` child, killed if the test fails.
struct Server {
    child: Child,
    url: String,
    initial_password: Option<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    fn start(data_dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .envs(env.iter().copied())
            .env_remove("TUMBLER_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        // From here on the guard kills the child if anything below panics.
        let mut server = Self {
            child,
            url: String::new(),
            initial_password: None,
            stderr: Default::default(),
        };
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let sink = server.stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "no Listening line; stderr: {}",
                    server.stderr.lock().unwrap()
                )
            });
            if let Some(pw) = line.strip_prefix("Initial admin password: ") {
                server.initial_password = Some(pw.to_owned());
            }
            if let Some(url) = line.strip_prefix("Listening on ") {
                server.url = url.to_owned();
                return server;
            }
        }
    }

    /// Waits (polling, with a deadline) for the server to kill itself at crash point
    /// `point`, and asserts it died rather than exited cleanly.
    async fn wait_for_crash(mut self, point: &str) {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "{point}: the server did not crash"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(!status.success(), "{point}: {status}");
    }

    fn stop(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::yield_now();
        };
        // Let the stderr reader drain what the process wrote before it exited.
        let deadline = Instant::now() + WAIT;
        while !self.stderr.lock().unwrap().contains("stopped") && Instant::now() < deadline {
            std::thread::yield_now();
        }
        let log = self.stderr.lock().unwrap().clone();
        (status, log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tumbler(args: &[&str], data_dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("TUMBLER_CONFIG")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn basic_me(url: &str, user: &str, password: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .get(format!("{url}/api/v1/users/me"))
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap()
        .status()
}

/// Runs a client command of the binary with its own `HOME` (where `tumbler login` keeps its
/// token), `input` on standard input.
fn client(home: &Path, url: &str, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env("TUMBLER_URL", url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Activates the admin of a fresh server and returns the new password.
async fn activate(server: &Server) -> String {
    let temp = server.initial_password.clone().unwrap();
    let pw = "Chooses-Long-Passphrase-One-1".to_owned();
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/users/me/password", server.url))
        .basic_auth("admin", Some(&temp))
        .json(&serde_json::json!({"old_password": temp, "new_password": pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    pw
}

/// An admin's JSON calls to whichever server runs now (HTTP Basic).
struct Api {
    password: String,
}

impl Api {
    async fn call(
        &self,
        server: &Server,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}{path}", server.url))
            .basic_auth("admin", Some(&self.password));
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// Calls `path` and reads the JSON answer into `T` (panics with the body if it does not fit).
    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        server: &Server,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> T {
        let text = self
            .call(server, method, path, body)
            .await
            .text()
            .await
            .unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
    }

    /// Starts the task; returns the execution id.
    async fn execute(&self, server: &Server, task_id: &str) -> String {
        let started: ExecutionStarted = self
            .json(
                server,
                reqwest::Method::POST,
                &format!("/api/v1/change-secret/tasks/{task_id}/execute"),
                None,
            )
            .await;
        started.execution_id.to_string()
    }

    /// The execution's log, as text.
    async fn log(&self, server: &Server, execution: &str) -> String {
        self.call(
            server,
            reqwest::Method::GET,
            &format!("/api/v1/change-secret/executions/{execution}/log"),
            None,
        )
        .await
        .text()
        .await
        .unwrap()
    }

    /// Waits (polling, with a deadline) for the execution to end; returns its status.
    async fn ended(&self, server: &Server, execution: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let e: ExecutionView = self
                .json(
                    server,
                    reqwest::Method::GET,
                    &format!("/api/v1/change-secret/executions/{execution}"),
                    None,
                )
                .await;
            if e.status.is_final() {
                return e.status.as_str().to_owned();
            }
            assert!(Instant::now() < deadline, "execution never ended: {e:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Asserts every account's stored current secret logs in and none is left changing;
    /// returns their secret versions.
    async fn all_verify(&self, server: &Server, accounts: &[String], context: &str) -> Vec<i64> {
        let mut versions = Vec::new();
        for id in accounts {
            let v: VerifyOut = self
                .json(
                    server,
                    reqwest::Method::POST,
                    &format!("/api/v1/accounts/{id}/verify"),
                    None,
                )
                .await;
            assert!(v.ok, "{context}: {v:?}");
            assert_ne!(v.account.status, "changing", "{context}: {v:?}");
            versions.push(v.account.secret_version);
        }
        versions
    }
}

fn tumbler_with(args: &[&str], data_dir: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .envs(env.iter().copied())
        .env_remove("TUMBLER_CONFIG")
        .output()
        .unwrap()
}
