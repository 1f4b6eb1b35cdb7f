//! Client commands as a user runs them: `login` (with TOTP), asset and account commands on a
//! real host, task commands running a change.

use super::{activate, client, stderr, stdout, Server};
use std::os::unix::fs::PermissionsExt;

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

    let add_bob = [
        "user",
        "add",
        "bo_b",
        "--role",
        "operator",
        "--email",
        "bob@example.test",
        "--password-stdin",
    ];
    // The stored token alone creates nobody: the current password is asked for first.
    let out = cli(&add_bob, "\n\n");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("reauthentication_required"),
        "{}",
        stderr(&out)
    );
    let out = cli(&add_bob, &format!("{pw}\n"));
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
    let token: tumbler_api_types::users::CreatedToken = http
        .post(format!("{}/api/v1/users/me/tokens", server.url))
        .basic_auth("admin", Some(&pw))
        .json(&serde_json::json!({"name": "enrol"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token.token;
    let begun: tumbler_api_types::totp::EnrolmentOut = http
        .post(format!("{}/api/v1/users/me/totp", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"current_password": pw}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = base32_decode(&begun.secret);
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
