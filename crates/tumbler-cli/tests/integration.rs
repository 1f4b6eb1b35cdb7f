//! The `tumbler` binary as a user runs it: first start, SIGTERM, host-side admin commands,
//! config checks, audit verification, backup and restore, master key rotation, PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

#[tokio::test]
async fn first_start_creates_the_store_and_key_and_prints_the_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let password = server
        .initial_password
        .clone()
        .expect("first start prints the admin password");
    let key = data.join("master.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert!(data.join("tumbler.db").exists());
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(format!("{}/healthz", server.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Ready once the recovery at start is done (at once on a new store).
    let deadline = Instant::now() + WAIT;
    loop {
        let status = client
            .get(format!("{}/readyz", server.url))
            .send()
            .await
            .unwrap()
            .status();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let me: serde_json::Value = client
        .get(format!("{}/api/v1/users/me", server.url))
        .basic_auth("admin", Some(&password))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["must_change_password"], true);
    let (status, log) = server.stop();
    assert!(
        status.success(),
        "SIGTERM ends the server cleanly: {status:?}\n{log}"
    );
    assert!(log.contains("stopped"), "{log}");
    assert!(
        !log.contains(&password),
        "the one-time password never reaches the log"
    );

    let again = Server::start(&data, &[]);
    assert!(
        again.initial_password.is_none(),
        "only the first start creates admin"
    );
    again.stop();
}

#[tokio::test]
async fn reset_password_recovers_access_from_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let old = server.initial_password.clone().unwrap();
    let out = tumbler(&["admin", "reset-password", "admin"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let new = stdout(&out)
        .lines()
        .find_map(|l| {
            l.strip_prefix("One-time password for admin: ")
                .map(str::to_owned)
        })
        .unwrap();
    assert_ne!(new, old);
    assert_eq!(basic_me(&server.url, "admin", &new).await, 200);
    assert_eq!(basic_me(&server.url, "admin", &old).await, 401);
    let out = tumbler(&["admin", "reset-password", "nobody"], dir.path());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no such user"), "{}", stderr(&out));
    server.stop();
}

#[test]
fn check_config_names_unknown_keys_and_variables() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.toml");
    std::fs::write(&file, "[database]\nurll = \"x\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("urll"), "{}", stderr(&out));

    let out = Command::new(BIN)
        .arg("check-config")
        .env("TUMBLER_FOO__BAR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("TUMBLER_FOO__BAR"));

    std::fs::write(
        &file,
        "[database]\nurl = \"postgres://tumbler:s3cret-pw@db.example/tumbler\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("postgres://tumbler:***@db.example/tumbler"));
    assert!(!stdout(&out).contains("s3cret-pw"));
}

#[tokio::test]
async fn audit_verify_reports_the_tampered_event() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let pw = server.initial_password.clone().unwrap();
    for _ in 0..2 {
        basic_me(&server.url, "admin", "wrong-password-1234567").await;
        basic_me(&server.url, "admin", &pw).await;
    }
    let out = tumbler(&["audit", "verify"], dir.path());
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("intact"));

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!(
        "sqlite://{}",
        dir.path().join("tumbler.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("DROP TRIGGER audit_events_no_update")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_events SET detail = 'edited' WHERE seq = 4")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = tumbler(&["audit", "verify"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("BROKEN at event 4"),
        "{}",
        stdout(&out)
    );
    server.stop();
}

#[tokio::test]
async fn backup_while_running_and_restore_after_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let pw = server.initial_password.clone().unwrap();
    let backup = dir.path().join("backup.db");
    let out = tumbler(
        &["admin", "backup", "--out", backup.to_str().unwrap()],
        &data,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let key_hex = std::fs::read_to_string(data.join("master.key")).unwrap();
    let bytes = std::fs::read(&backup).unwrap();
    assert!(
        !bytes.windows(64).any(|w| w == key_hex.trim().as_bytes()),
        "the backup never holds the master key"
    );
    server.stop();

    let out = tumbler(&["admin", "reset-password", "admin"], &data);
    assert!(out.status.success());
    let out = tumbler(
        &["admin", "restore", "--from", backup.to_str().unwrap()],
        &data,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let server = Server::start(&data, &[]);
    assert_eq!(
        basic_me(&server.url, "admin", &pw).await,
        200,
        "the password from before the reset works again"
    );
    server.stop();
}

#[tokio::test]
async fn master_key_rotation_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let pw = server.initial_password.clone().unwrap();
    let key = data.join("master.key");
    let old = std::fs::read_to_string(&key).unwrap();
    let out = tumbler(&["admin", "rotate-master-key"], &data);
    assert!(out.status.success(), "{}", stderr(&out));
    let new = std::fs::read_to_string(&key).unwrap();
    assert_ne!(old, new);
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let retired: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("retired"))
        .collect();
    assert_eq!(retired.len(), 1);
    assert_eq!(
        basic_me(&server.url, "admin", &pw).await,
        200,
        "the running server keeps working"
    );
    server.stop();

    let restarted = Server::start(&data, &[]);
    assert_eq!(basic_me(&restarted.url, "admin", &pw).await, 200);
    restarted.stop();
    let out = tumbler(&["audit", "verify"], &data);
    assert!(
        out.status.success(),
        "the chain key is sealed in the vault and survives the rotation: {}",
        stdout(&out)
    );

    std::fs::write(&key, &old).unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("does not match this store"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn migrate_applies_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = tumbler(&["migrate"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).starts_with("Applied 0"), "{}", stdout(&out));
    let out = tumbler(&["migrate"], dir.path());
    assert!(
        stdout(&out).starts_with("Applied 0 migration(s)"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn serves_on_postgresql_from_the_environment() {
    let db = tumbler_testkit::postgres_store::PgStoreDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let url = db.url();
    let server = Server::start(dir.path(), &[("TUMBLER_DATABASE__URL", url.as_str())]);
    let pw = server.initial_password.clone().unwrap();
    assert_eq!(basic_me(&server.url, "admin", &pw).await, 200);
    assert!(
        !dir.path().join("tumbler.db").exists(),
        "no SQLite file on PostgreSQL"
    );
    let (status, _) = server.stop();
    assert!(status.success());
    db.drop_db().await;
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

#[tokio::test]
async fn asset_and_account_commands_verify_a_real_host() {
    let host = tumbler_testkit::sshd::SshHost::start(&[tumbler_testkit::sshd::TestUser::new(
        "carol",
        "canary-Carol-9a8b7c6d",
    )])
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let temp = server.initial_password.clone().unwrap();
    let pw = "Chooses-Long-Passphrase-One-1";
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/users/me/password", server.url))
        .basic_auth("admin", Some(&temp))
        .json(&serde_json::json!({"old_password": temp, "new_password": pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let home = dir.path().join("home");
    let cli = |args: &[&str], input: &str| client(&home, &server.url, args, input);
    let out = cli(
        &["login", "--username", "admin", "--password-stdin"],
        &format!("{pw}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let port = host.port().to_string();
    let out = cli(
        &[
            "asset",
            "add",
            "lab-1",
            "--address",
            host.address(),
            "--port",
            &port,
            "--platform",
            "linux",
            "--node",
            "/Default/Lab",
            "--fingerprint",
            host.host_key_fingerprint(),
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("host key verified"),
        "{}",
        stdout(&out)
    );
    let out = cli(&["asset", "list", "--node", "/Default/Lab"], "");
    let line = stdout(&out)
        .lines()
        .find(|l| l.starts_with("lab-1 "))
        .unwrap_or_default()
        .to_owned();
    assert!(
        line.contains("linux") && line.contains("verified"),
        "{}",
        stdout(&out)
    );

    let out = cli(
        &[
            "account",
            "add",
            "--asset",
            "lab-1",
            "carol",
            "--secret-stdin",
        ],
        "canary-Carol-9a8b7c6d\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(&["account", "verify", "lab-1", "carol"], "");
    assert!(out.status.success(), "{} {}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("carol@lab-1: verified"));
    let out = cli(&["account", "list", "--asset", "lab-1"], "");
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.contains("carol") && l.contains(" ok ")),
        "{}",
        stdout(&out)
    );
    let out = cli(&["asset", "test", "lab-1"], "");
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains(host.host_key_fingerprint()));

    let out = cli(
        &[
            "account",
            "add",
            "--asset",
            "lab-1",
            "a;b",
            "--secret-stdin",
        ],
        "x\n",
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("invalid_request"), "{}", stderr(&out));
    let out = cli(&["account", "verify", "nope", "carol"], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no such asset"), "{}", stderr(&out));

    // A remote database without verified TLS is refused; a key file asking for a costly
    // key derivation is refused before it is sent.
    let out = cli(
        &[
            "asset",
            "add",
            "pg-remote",
            "--address",
            "10.9.8.7",
            "--platform",
            "postgresql",
            "--tls-mode",
            "disable",
        ],
        "",
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("tls_mode_not_allowed"),
        "{}",
        stderr(&out)
    );
    let ppk = dir.path().join("crafted.ppk");
    std::fs::write(
        &ppk,
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: aes256-cbc\nComment: x\n\
         Key-Derivation: Argon2id\nArgon2-Memory: 4294967295\nArgon2-Passes: 1\n\
         Argon2-Parallelism: 1\n",
    )
    .unwrap();
    let out = cli(
        &[
            "account",
            "add",
            "--asset",
            "lab-1",
            "deploy",
            "--ssh-key-file",
            ppk.to_str().unwrap(),
        ],
        "",
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("key_derivation_too_costly"),
        "{}",
        stderr(&out)
    );
    server.stop();
}

#[tokio::test]
async fn login_stores_a_private_token_and_user_commands_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let temp = server.initial_password.clone().unwrap();
    let pw = "Chooses-Long-Passphrase-One-1";
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/users/me/password", server.url))
        .basic_auth("admin", Some(&temp))
        .json(&serde_json::json!({"old_password": temp, "new_password": pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let home = dir.path().join("home");
    let cli = |args: &[&str], input: &str| client(&home, &server.url, args, input);
    let out = cli(
        &["login", "--username", "admin", "--password-stdin"],
        "wrong-password-xyz-123\n",
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("invalid username, password or authentication code"),
        "{}",
        stderr(&out)
    );
    let out = cli(
        &["login", "--username", "admin", "--password-stdin"],
        &format!("{pw}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let creds = home.join(".config/tumbler/credentials.json");
    assert_eq!(
        std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        !std::fs::read_to_string(&creds).unwrap().contains(pw),
        "only the token is stored"
    );

    let out = cli(
        &[
            "user",
            "add",
            "bo_b",
            "--role",
            "operator",
            "--email",
            "bob@example.test",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Temporary password"));
    let out = cli(&["user", "list"], "");
    let line = stdout(&out)
        .lines()
        .find(|l| l.starts_with("bo_b "))
        .unwrap()
        .to_owned();
    assert!(
        line.contains("temporary") && line.contains("operator") && line.contains("enabled"),
        "{line}"
    );
    assert!(cli(&["user", "unlock", "bo_b"], "").status.success());
    assert!(cli(&["user", "disable", "bo_b"], "").status.success());
    let out = cli(&["user", "list"], "");
    assert!(stdout(&out)
        .lines()
        .any(|l| l.starts_with("bo_b ") && l.contains("disabled")));
    let out = cli(&["user", "disable", "nobody"], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no such user"));
    server.stop();
}

#[tokio::test]
async fn login_asks_for_a_code_when_the_account_has_totp() {
    use tumbler_domain::totp;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let pw = activate(&server).await;
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{}/api/v1/users/me/tokens", server.url))
        .basic_auth("admin", Some(&pw))
        .json(&serde_json::json!({"name": "enrol"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let begun: serde_json::Value = http
        .post(format!("{}/api/v1/users/me/totp", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"current_password": pw}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = base32_decode(begun["secret"].as_str().unwrap());
    let step = totp::step_of(chrono::Utc::now());
    let res = http
        .post(format!("{}/api/v1/users/me/totp/confirm", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"code": totp::code_at(&secret, step)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let home = dir.path().join("home");
    let cli = |args: &[&str], input: &str| client(&home, &server.url, args, input);
    // Without a code (an empty line) the login fails with the server's one answer.
    let out = cli(
        &["login", "--username", "admin", "--password-stdin"],
        &format!("{pw}\n\n"),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("invalid username, password or authentication code"),
        "{}",
        stderr(&out)
    );
    // The next step's code (the confirmation used this one) logs in.
    let out = cli(
        &["login", "--username", "admin", "--password-stdin"],
        &format!("{pw}\n{}\n", totp::code_at(&secret, step + 1)),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(&["user", "list"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    server.stop();
}

fn base32_decode(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u64, Vec::new());
    for c in s.bytes() {
        let v = alphabet.iter().position(|a| *a == c).unwrap() as u64;
        value = (value << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((value >> bits) & 0xff) as u8);
        }
    }
    out
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

#[tokio::test]
async fn task_commands_run_a_change_and_exit_non_zero_when_it_fails() {
    use tumbler_testkit::sshd::{SshHost, TestUser};
    let host = SshHost::start(&[
        TestUser::new("ops", "canary-Ops-Cli-1f").with_sudo(),
        TestUser::new("app1", "canary-App-Cli-2e"),
    ])
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let pw = activate(&server).await;
    let home = dir.path().join("home");
    let cli = |args: &[&str], input: &str| client(&home, &server.url, args, input);
    let out = cli(
        &["login", "--username", "admin", "--password-stdin"],
        &format!("{pw}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let port = host.port().to_string();
    let out = cli(
        &[
            "asset",
            "add",
            "lab-1",
            "--address",
            host.address(),
            "--port",
            &port,
            "--platform",
            "linux",
            "--fingerprint",
            host.host_key_fingerprint(),
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    for (user, secret, privileged) in [
        ("ops", "canary-Ops-Cli-1f", true),
        ("app1", "canary-App-Cli-2e", false),
    ] {
        let mut args = vec!["account", "add", "--asset", "lab-1", user, "--secret-stdin"];
        if privileged {
            args.push("--privileged");
        }
        let out = cli(&args, &format!("{secret}\n"));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = cli(
        &[
            "task",
            "create",
            "--name",
            "nightly",
            "--username",
            "app1",
            "--asset",
            "lab-1",
            "--length",
            "18",
            "--cron",
            "0 3 * * *",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("next run at"), "{}", stdout(&out));
    let out = cli(&["task", "list"], "");
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.starts_with("nightly ") && l.contains("app1")),
        "{}",
        stdout(&out)
    );
    let out = cli(&["task", "run", "nightly", "--wait"], "");
    assert!(out.status.success(), "{} {}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.contains("app1") && l.contains("success")),
        "{text}"
    );
    assert!(text.contains(": succeeded."), "{text}");
    let out = cli(&["account", "verify", "lab-1", "app1"], "");
    assert!(
        out.status.success(),
        "the new stored password logs in: {}",
        stdout(&out)
    );

    // A specified password comes from standard input, never the command line.
    let out = cli(
        &[
            "task",
            "create",
            "--name",
            "fixed",
            "--username",
            "app1",
            "--asset",
            "lab-1",
            "--specified",
            "--secret-stdin",
        ],
        "canary-Specified-Cli-3d\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(&["task", "run", "fixed", "--wait"], "");
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(!host.command_log().contains("canary-Specified-Cli-3d"));

    // A run that fails exits non-zero and says why.
    let closed = tumbler_testkit::ports::free_port().to_string();
    let out = cli(
        &[
            "asset",
            "add",
            "gone",
            "--address",
            "127.0.0.1",
            "--port",
            &closed,
            "--platform",
            "postgresql",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(
        &[
            "account",
            "add",
            "--asset",
            "gone",
            "postgres",
            "--privileged",
            "--secret-stdin",
        ],
        "x\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(
        &[
            "account",
            "add",
            "--asset",
            "gone",
            "app1",
            "--secret-stdin",
        ],
        "y\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(
        &[
            "task",
            "create",
            "--name",
            "doomed",
            "--username",
            "app1",
            "--asset",
            "gone",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(&["task", "run", "doomed", "--wait"], "");
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("unreachable"), "{}", stdout(&out));
    assert!(stdout(&out).contains(": failed."), "{}", stdout(&out));
    server.stop();
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

    async fn json(
        &self,
        server: &Server,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        self.call(server, method, path, body)
            .await
            .json()
            .await
            .unwrap()
    }

    /// Starts the task; returns the execution id.
    async fn execute(&self, server: &Server, task_id: &str) -> String {
        let started = self
            .json(
                server,
                reqwest::Method::POST,
                &format!("/api/v1/change-secret/tasks/{task_id}/execute"),
                None,
            )
            .await;
        started["execution_id"].as_str().unwrap().to_owned()
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
            let e = self
                .json(
                    server,
                    reqwest::Method::GET,
                    &format!("/api/v1/change-secret/executions/{execution}"),
                    None,
                )
                .await;
            let status = e["status"].as_str().unwrap_or("").to_owned();
            if status != "pending" && status != "running" {
                return status;
            }
            assert!(Instant::now() < deadline, "execution never ended: {e}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Asserts every account's stored current secret logs in and none is left changing;
    /// returns their secret versions.
    async fn all_verify(&self, server: &Server, accounts: &[String], context: &str) -> Vec<i64> {
        let mut versions = Vec::new();
        for id in accounts {
            let v = self
                .json(
                    server,
                    reqwest::Method::POST,
                    &format!("/api/v1/accounts/{id}/verify"),
                    None,
                )
                .await;
            assert_eq!(v["ok"], true, "{context}: {v}");
            assert_ne!(v["account"]["status"], "changing", "{context}: {v}");
            versions.push(v["account"]["secret_version"].as_i64().unwrap());
        }
        versions
    }
}

/// A host with a sudo account and `apps` app accounts, registered on the server with a task
/// rotating the app accounts; returns the host, the task id and the app accounts' ids.
async fn crash_fixture(
    server: &Server,
    api: &Api,
    apps: usize,
) -> (tumbler_testkit::sshd::SshHost, String, Vec<String>) {
    use tumbler_testkit::sshd::{SshHost, TestUser};
    let mut users = vec![TestUser::new("ops", "canary-Ops-Crash-7a").with_sudo()];
    for i in 0..apps {
        users.push(TestUser::new(
            format!("app{i}"),
            format!("canary-App-Crash-{i}"),
        ));
    }
    let host = SshHost::start(&users).await.unwrap();
    let post = reqwest::Method::POST;
    let asset = api
        .json(
            server,
            post.clone(),
            "/api/v1/assets",
            Some(
                serde_json::json!({"name": "crashy", "address": host.address(),
                "port": host.port(), "platform": "linux",
                "host_key_fingerprint": host.host_key_fingerprint()}),
            ),
        )
        .await;
    let asset_id = asset["id"].as_str().unwrap().to_owned();
    let mut app_ids = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let a = api
            .json(
                server,
                post.clone(),
                "/api/v1/accounts",
                Some(serde_json::json!({"asset_id": asset_id, "username": u.name,
                    "secret": u.password, "privileged": i == 0})),
            )
            .await;
        if i > 0 {
            app_ids.push(a["id"].as_str().unwrap().to_owned());
        }
    }
    let usernames: Vec<String> = users.iter().skip(1).map(|u| u.name.clone()).collect();
    let task = api
        .json(
            server,
            post,
            "/api/v1/change-secret/tasks",
            Some(serde_json::json!({"name": "crash", "usernames": usernames,
                "asset_ids": [asset_id], "secret_strategy": "random"})),
        )
        .await;
    (host, task["id"].as_str().unwrap().to_owned(), app_ids)
}

#[tokio::test]
async fn a_server_killed_at_each_step_of_a_change_recovers_the_working_password() {
    // (crash point, the secret version each account has after recovery)
    for (point, expected) in [
        ("before_escrow_append", 1),
        ("after_escrow_append", 1),
        ("after_stage", 1),
        ("after_change", 2),
        ("after_verify", 2),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let server = Server::start(&data, &[("CHANGE_ENGINE_CRASH_POINT", point)]);
        let api = Api {
            password: activate(&server).await,
        };
        let (_host, task_id, accounts) = crash_fixture(&server, &api, 1).await;
        let execution = api.execute(&server, &task_id).await;
        server.wait_for_crash(point).await;
        let server = Server::start(&data, &[]);
        assert_eq!(
            api.ended(&server, &execution).await,
            "interrupted",
            "{point}"
        );
        let versions = api.all_verify(&server, &accounts, point).await;
        assert_eq!(versions, vec![expected], "{point}");
        let log = api.log(&server, &execution).await;
        if point.contains("escrow") {
            // Killed before the stage committed: nothing was staged or sent.
            assert!(
                log.contains("finished: interrupted") && !log.contains("recovery found"),
                "{point}: {log}"
            );
        } else {
            assert!(log.contains("recovery found"), "{point}: {log}");
        }
        server.stop();
    }
}

/// Key-based devices for the regeneration crash test: `n` hosts, each switched to the system
/// key (admin user `tumbler`, created through `ops`). Returns the hosts and asset ids.
async fn key_based_devices(
    server: &Server,
    api: &Api,
    n: usize,
) -> (Vec<tumbler_testkit::sshd::SshHost>, Vec<String>) {
    use tumbler_testkit::sshd::{SshHost, TestUser};
    let post = reqwest::Method::POST;
    let mut hosts = Vec::new();
    let mut ids = Vec::new();
    for i in 0..n {
        let host = SshHost::start(&[TestUser::new("ops", "canary-Ops-Keys-5d").with_sudo()])
            .await
            .unwrap();
        let asset = api
            .json(
                server,
                post.clone(),
                "/api/v1/assets",
                Some(
                    serde_json::json!({"name": format!("dev{i}"), "address": host.address(),
                    "port": host.port(), "platform": "linux",
                    "host_key_fingerprint": host.host_key_fingerprint()}),
                ),
            )
            .await;
        let id = asset["id"].as_str().unwrap().to_owned();
        api.json(
            server,
            post.clone(),
            "/api/v1/accounts",
            Some(serde_json::json!({"asset_id": id, "username": "ops",
                "secret": "canary-Ops-Keys-5d", "privileged": true})),
        )
        .await;
        let job = api
            .json(
                server,
                post.clone(),
                &format!("/api/v1/assets/{id}/authentication"),
                Some(
                    serde_json::json!({"mode": "system_key", "admin_user": "tumbler",
                    "create_user": true}),
                ),
            )
            .await;
        let job = api.job_end(server, job["job_id"].as_str().unwrap()).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        hosts.push(host);
        ids.push(id);
    }
    (hosts, ids)
}

impl Api {
    /// Waits (polling, with a deadline) for a job to end; returns it.
    async fn job_end(&self, server: &Server, id: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let job = self
                .json(
                    server,
                    reqwest::Method::GET,
                    &format!("/api/v1/jobs/{id}"),
                    None,
                )
                .await;
            if job["status"] != "running" {
                return job;
            }
            assert!(Instant::now() < deadline, "job never ended: {job}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn authorized_fingerprints(host: &tumbler_testkit::sshd::SshHost) -> Vec<String> {
    let out = host
        .run_inside_ok(&["cat", "/home/tumbler/.ssh/authorized_keys"])
        .await
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(tumbler_connectors::ssh::public_key_fingerprint)
        .collect()
}

#[tokio::test]
async fn a_server_killed_during_a_key_regeneration_leaves_every_device_a_working_key() {
    const DEVICES: usize = 6;
    // Killed right after the first device took the new key (before it was verified and the
    // old one removed), and after the first device was finished.
    for point in ["after_add", "after_device"] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let server = Server::start(&data, &[("DEVICE_KEY_CRASH_POINT", point)]);
        let api = Api {
            password: activate(&server).await,
        };
        let (hosts, ids) = key_based_devices(&server, &api, DEVICES).await;
        let old = api
            .json(
                &server,
                reqwest::Method::GET,
                "/api/v1/system/ssh-key",
                None,
            )
            .await["fingerprint"]
            .as_str()
            .unwrap()
            .to_owned();
        let started = api
            .json(
                &server,
                reqwest::Method::POST,
                "/api/v1/system/ssh-key/regenerate",
                Some(serde_json::json!({})),
            )
            .await;
        let job = started["job_id"].as_str().unwrap().to_owned();
        server.wait_for_crash(point).await;
        // While it is down, every device still accepts a key Tumbler holds (old or new).
        let mut new = None;
        for host in &hosts {
            let fps = authorized_fingerprints(host).await;
            assert!(!fps.is_empty(), "{point}: a device has no key");
            for fp in fps.iter().filter(|fp| **fp != old) {
                assert!(
                    new.get_or_insert(fp.clone()) == fp,
                    "{point}: a stranger key {fp}"
                );
            }
        }
        // The next start resumes the job; it ends with the new key everywhere.
        let server = Server::start(&data, &[]);
        let done = api.job_end(&server, &job).await;
        assert_eq!(done["status"], "succeeded", "{point}: {done}");
        assert_eq!(done["done"], DEVICES as i64, "{point}: {done}");
        let key = api
            .json(
                &server,
                reqwest::Method::GET,
                "/api/v1/system/ssh-key",
                None,
            )
            .await;
        let current = key["fingerprint"].as_str().unwrap().to_owned();
        assert_ne!(current, old, "{point}");
        if let Some(new) = new {
            assert_eq!(new, current, "{point}");
        }
        for (host, id) in hosts.iter().zip(&ids) {
            assert_eq!(
                authorized_fingerprints(host).await,
                vec![current.clone()],
                "{point}"
            );
            let tested = api
                .json(
                    &server,
                    reqwest::Method::POST,
                    &format!("/api/v1/assets/{id}/test"),
                    None,
                )
                .await;
            assert_eq!(tested["connectivity"], "ok", "{point}: {tested}");
            assert_eq!(tested["auth_status"], "key_based", "{point}: {tested}");
        }
        server.stop();
    }
}

#[tokio::test]
async fn key_commands_show_regenerate_and_resolve_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let api = Api {
        password: activate(&server).await,
    };
    let (hosts, ids) = key_based_devices(&server, &api, 2).await;
    let home = dir.path().join("home");
    let cli = |args: &[&str], input: &str| client(&home, &server.url, args, input);
    let out = cli(
        &["login", "--username", "admin", "--password-stdin"],
        &format!("{}\n", api.password),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(&["key", "show"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    let first = authorized_fingerprints(&hosts[0]).await;
    assert!(
        shown.contains(&first[0]) && shown.contains("ed25519"),
        "{shown}"
    );

    // dev1 loses the key: the next contact finds the conflict.
    hosts[1]
        .run_inside_ok(&["sh", "-c", ": > /home/tumbler/.ssh/authorized_keys"])
        .await
        .unwrap();
    let tested = api
        .json(
            &server,
            reqwest::Method::POST,
            &format!("/api/v1/assets/{}/test", ids[1]),
            None,
        )
        .await;
    assert_eq!(tested["auth_status"], "key_conflict", "{tested}");

    let out = cli(&["key", "regenerate", "--algorithm", "dss"], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("DSS"), "{}", stderr(&out));
    let out = cli(
        &["key", "regenerate", "--algorithm", "ecdsa", "--bits", "384"],
        "",
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("dev0"), "{}", stdout(&out));
    let now = authorized_fingerprints(&hosts[0]).await;
    assert_eq!(now.len(), 1);
    assert_ne!(now, first);

    // Resolved with a new admin user, created with the password typed on standard input.
    let out = cli(
        &[
            "device",
            "resolve-conflict",
            "dev1",
            "--admin-user",
            "keyadmin",
            "--create-user",
            "--secret-stdin",
        ],
        "canary-Cli-Admin-Pw-4b\n",
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("succeeded"), "{}", stdout(&out));
    let a = api
        .json(
            &server,
            reqwest::Method::POST,
            &format!("/api/v1/assets/{}/test", ids[1]),
            None,
        )
        .await;
    assert_eq!(a["auth_status"], "key_based", "{a}");
    assert_eq!(a["auth_username"], "keyadmin", "{a}");
    let (_, log) = server.stop();
    assert!(
        !log.contains("canary-Cli-Admin-Pw-4b"),
        "the password leaked"
    );
}

#[tokio::test]
async fn audit_verify_finds_a_tail_rewritten_with_plain_hashes() {
    use sqlx::Row;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let pw = server.initial_password.clone().unwrap();
    for _ in 0..2 {
        basic_me(&server.url, "admin", "wrong-password-1234567").await;
        basic_me(&server.url, "admin", &pw).await;
    }
    server.stop();
    let out = tumbler(&["audit", "verify"], dir.path());
    assert!(out.status.success(), "{}", stdout(&out));

    // Someone with the database file but not the master key rewrites the last event and
    // recomputes its link and the head as plain SHA-256.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!(
        "sqlite://{}",
        dir.path().join("tumbler.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("DROP TRIGGER audit_events_no_update")
        .execute(&pool)
        .await
        .unwrap();
    let last = sqlx::query(
        "SELECT seq, at, actor, action, object_kind, object_id, outcome, source, prev_hash \
         FROM audit_events ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let seq: i64 = last.get("seq");
    let hash = tumbler_domain::audit::chain_hash(
        None,
        last.get("prev_hash"),
        seq,
        last.get("at"),
        last.get("actor"),
        last.get("action"),
        last.get("object_kind"),
        last.get("object_id"),
        last.get("outcome"),
        last.get("source"),
        "edited",
    );
    sqlx::query("UPDATE audit_events SET detail = 'edited', hash = $1 WHERE seq = $2")
        .bind(&hash)
        .bind(seq)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = tumbler(&["audit", "verify"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!("BROKEN at event {seq}")),
        "{}",
        stdout(&out)
    );
}

/// With the database but not the master key: the whole history rewritten with plain SHA-256
/// links and the sealed chain key deleted. `tumbler audit verify` reports tampering and, run
/// twice, writes nothing (it used to key the chain again at its tail, accepting the rewrite).
#[tokio::test]
async fn audit_verify_reports_a_deleted_chain_key_and_writes_nothing() {
    use sqlx::Row;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let pw = server.initial_password.clone().unwrap();
    basic_me(&server.url, "admin", "wrong-password-1234567").await;
    basic_me(&server.url, "admin", &pw).await;
    server.stop();

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!(
        "sqlite://{}",
        dir.path().join("tumbler.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("DROP TRIGGER audit_events_no_update")
        .execute(&pool)
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, object_kind, object_id, outcome, source, detail \
         FROM audit_events ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut prev = tumbler_domain::audit::GENESIS_HASH.to_owned();
    for r in &rows {
        let seq: i64 = r.get("seq");
        let hash = tumbler_domain::audit::chain_hash(
            None,
            &prev,
            seq,
            r.get("at"),
            r.get("actor"),
            r.get("action"),
            r.get("object_kind"),
            r.get("object_id"),
            r.get("outcome"),
            r.get("source"),
            r.get("detail"),
        );
        sqlx::query("UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE seq = $3")
            .bind(&prev)
            .bind(&hash)
            .bind(seq)
            .execute(&pool)
            .await
            .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM secrets WHERE owner_kind = 'audit_chain'")
        .execute(&pool)
        .await
        .unwrap();
    let state = "SELECT (SELECT COUNT(*) FROM audit_events) * 1000 \
                 + (SELECT COUNT(*) FROM secrets WHERE owner_kind = 'audit_chain')";
    let before: i64 = sqlx::query(state).fetch_one(&pool).await.unwrap().get(0);
    for _ in 0..2 {
        let out = tumbler(&["audit", "verify"], dir.path());
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        assert!(stdout(&out).contains("tampered"), "{}", stdout(&out));
    }
    let after: i64 = sqlx::query(state).fetch_one(&pool).await.unwrap().get(0);
    assert_eq!(after, before, "verify wrote an event or a key");
    pool.close().await;
}

/// The current TOTP code for a base32 secret.
fn totp_now(secret_b32: &str) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut secret) = (0u32, 0u64, Vec::new());
    for c in secret_b32.bytes() {
        let v = alphabet.iter().position(|a| *a == c).unwrap() as u64;
        value = (value << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            secret.push(((value >> bits) & 0xff) as u8);
        }
    }
    let now = chrono::Utc::now();
    tumbler_domain::totp::code_at(&secret, tumbler_domain::totp::step_of(now))
}

#[tokio::test]
async fn reset_password_with_reset_totp_lets_an_administrator_who_lost_the_authenticator_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let initial = server.initial_password.clone().unwrap();
    let client = reqwest::Client::new();
    let password = "Correct-Horse-Battery-Staple-42";
    let res = client
        .post(format!("{}/api/v1/users/me/password", server.url))
        .basic_auth("admin", Some(&initial))
        .json(&serde_json::json!({"old_password": initial, "new_password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let token: serde_json::Value = client
        .post(format!("{}/api/v1/users/me/tokens", server.url))
        .basic_auth("admin", Some(password))
        .json(&serde_json::json!({"name": "t"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let begun: serde_json::Value = client
        .post(format!("{}/api/v1/users/me/totp", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"current_password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = client
        .post(format!("{}/api/v1/users/me/totp/confirm", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"code": totp_now(begun["secret"].as_str().unwrap())}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let login = |pw: String| {
        let url = format!("{}/api/v1/auth/login", server.url);
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&serde_json::json!({"username": "admin", "password": pw}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_ne!(
        login(password.to_owned()).await,
        200,
        "the authenticator is needed"
    );

    let new_password = |out: &Output| {
        stdout(out)
            .lines()
            .find_map(|l| {
                l.strip_prefix("One-time password for admin: ")
                    .map(str::to_owned)
            })
            .unwrap()
    };
    // Without the flag the second factor stays: the lost authenticator still locks them out.
    let out = tumbler(&["admin", "reset-password", "admin"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(login(new_password(&out)).await, 200);

    let out = tumbler(
        &["admin", "reset-password", "admin", "--reset-totp"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("second factor is off"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        login(new_password(&out)).await,
        200,
        "back in with the password alone"
    );
    server.stop();

    // Audited, and the keyed chain holds.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!(
        "sqlite://{}",
        dir.path().join("tumbler.db").display()
    ))
    .await
    .unwrap();
    let resets: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor, detail FROM audit_events WHERE action = 'user.password.reset' ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        resets,
        [
            (
                "host".to_owned(),
                // The token `tumbler login` stored ends with the old password.
                "tokens_revoked=1 certificates_removed=0; second factor kept".to_owned()
            ),
            (
                "host".to_owned(),
                "tokens_revoked=0 certificates_removed=0; second factor reset".to_owned()
            )
        ]
    );
    let totp: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'user.totp.reset'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(totp, 1);
    pool.close().await;
    let out = tumbler(&["audit", "verify"], dir.path());
    assert!(out.status.success(), "{}", stdout(&out));
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

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Starts on a master key from `source` (`env` or `passphrase`, the value in `var`), keeps a
/// secret in the vault, rotates the key with the same source while the server runs, and checks
/// that only the new key opens the store afterwards.
async fn master_key_from(source: &str, var: &str, new_var: &str, old: &str, new: &str) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let with = |key: &str| {
        vec![
            (
                "TUMBLER_VAULT__MASTER_KEY_SOURCE".to_owned(),
                source.to_owned(),
            ),
            (var.to_owned(), key.to_owned()),
        ]
    };
    let old_env = with(old);
    let server = Server::start(&data, &pairs(&old_env));
    assert!(
        !data.join("master.key").exists(),
        "{source}: no key file is written"
    );
    let pw = server.initial_password.clone().unwrap();
    assert_eq!(basic_me(&server.url, "admin", &pw).await, 200);

    let mut rotate_env = pairs(&old_env);
    rotate_env.push((new_var, new));
    let out = tumbler_with(&["admin", "rotate-master-key"], &data, &rotate_env);
    assert!(out.status.success(), "{source}: {}", stderr(&out));
    assert_eq!(
        basic_me(&server.url, "admin", &pw).await,
        200,
        "{source}: the running server keeps working"
    );
    server.stop();

    // The old key no longer opens the store; the new one does, vault included (the audit
    // chain's key is sealed in it).
    let out = tumbler_with(&["audit", "verify"], &data, &pairs(&old_env));
    assert!(!out.status.success(), "{source}: the old key still works");
    assert!(
        stderr(&out).contains("does not match this store"),
        "{source}: {}",
        stderr(&out)
    );
    let new_env = with(new);
    let out = tumbler_with(&["audit", "verify"], &data, &pairs(&new_env));
    assert!(
        out.status.success(),
        "{source}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let restarted = Server::start(&data, &pairs(&new_env));
    assert_eq!(basic_me(&restarted.url, "admin", &pw).await, 200);
    restarted.stop();
}

#[tokio::test]
async fn the_master_key_comes_from_the_environment_and_rotates() {
    master_key_from(
        "env",
        "TUMBLER_MASTER_KEY",
        "TUMBLER_NEW_MASTER_KEY",
        &"1f".repeat(32),
        &"a2".repeat(32),
    )
    .await;
}

#[tokio::test]
async fn the_master_key_comes_from_a_passphrase_and_rotates() {
    master_key_from(
        "passphrase",
        "TUMBLER_MASTER_PASSPHRASE",
        "TUMBLER_NEW_MASTER_PASSPHRASE",
        "first passphrase of the vault, long enough",
        "second passphrase of the vault, also long",
    )
    .await;
}

/// A server SIGKILLed during a record retry, after the target took the retry's new password:
/// the next start settles the staged account before `/readyz` says ready (and says how many
/// it settled), and the stored secret logs in.
#[tokio::test]
async fn a_server_killed_during_a_retry_settles_the_account_before_it_is_ready() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let api = Api {
        password: activate(&server).await,
    };
    let (mut host, task_id, accounts) = crash_fixture(&server, &api, 1).await;
    // The first run fails: the host is down.
    host.kill();
    let execution = api.execute(&server, &task_id).await;
    assert_eq!(api.ended(&server, &execution).await, "failed");
    let records = api
        .json(
            &server,
            reqwest::Method::GET,
            &format!("/api/v1/change-secret/records?execution_id={execution}"),
            None,
        )
        .await;
    let record = records["items"][0].clone();
    assert_eq!(record["reason_code"], "unreachable", "{record}");
    host.start_again().await.unwrap();
    server.stop();

    // The retry dies right after the target took its new password.
    let server = Server::start(
        &data,
        &[("CHANGE_ENGINE_CRASH_POINT", "retry_after_change")],
    );
    let retry = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/change-secret/records/{}/retry",
            server.url,
            record["id"].as_str().unwrap()
        ))
        .basic_auth("admin", Some(&api.password))
        .send();
    // The answer never comes: the server dies mid-request.
    let _ = retry.await;
    server.wait_for_crash("retry_after_change").await;

    let server = Server::start(&data, &[]);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ready = reqwest::get(format!("{}/readyz", server.url))
            .await
            .unwrap();
        if ready.status() == 200 {
            break;
        }
        assert_eq!(ready.status(), 503);
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Ready means settled: nothing is left changing, before anyone verifies.
    let account = api
        .json(
            &server,
            reqwest::Method::GET,
            &format!("/api/v1/accounts/{}", accounts[0]),
            None,
        )
        .await;
    assert_eq!(account["status"], "ok", "{account}");
    assert_eq!(
        account["secret_version"], 2,
        "the retry's secret: {account}"
    );
    let log = server.stderr.lock().unwrap().clone();
    assert!(
        log.contains("recovery at start: 1 interrupted run(s) ended, 1 staged account(s) settled"),
        "{log}"
    );
    let versions = api
        .all_verify(&server, &accounts, "after the retry crash")
        .await;
    assert_eq!(versions, vec![2]);
    // The retry run ended interrupted, and it completed the first run.
    let runs = api
        .json(
            &server,
            reqwest::Method::GET,
            "/api/v1/change-secret/executions",
            None,
        )
        .await;
    let retry_run = runs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["trigger"] == "retry")
        .cloned()
        .unwrap();
    assert_eq!(retry_run["status"], "interrupted", "{retry_run}");
    assert_eq!(retry_run["retry_of_execution_id"], execution.as_str());
    assert_eq!(api.ended(&server, &execution).await, "succeeded");
    server.stop();
}
