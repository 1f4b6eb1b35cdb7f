//! Change-run benchmark: Tumbler changing and verifying passwords on real sshd test hosts,
//! beside Ansible's `user` module doing the same change-and-login run on the same hosts; and
//! accounts per second and peak memory for a larger SSH run and for PostgreSQL roles on a
//! private cluster. It prints figures and asserts only that the runs succeeded.
//!
//! CI runs a smoke size (`CHANGE_BENCH_HOSTS=3 CHANGE_BENCH_ACCOUNTS=2 CHANGE_BENCH_ANSIBLE=0
//! CHANGE_BENCH_LARGE=0 cargo test -p tumbler-server --bench change_run`); the full run is
//! `cargo bench -p tumbler-server --bench change_run` (20 hosts x 3 accounts beside Ansible,
//! then 100 hosts x 5 accounts and 10,000 PostgreSQL roles). Ansible (ansible-core from PyPI,
//! with `sshpass`) is installed into `target/ansible-venv` when missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tumbler_testkit::app::TestApp;
use tumbler_testkit::pg_cluster::PgCluster;
use tumbler_testkit::sshd::{SshHost, TestUser};

const OPS_PASSWORD: &str = "bench-Ops-Sudo-1a";
const OLD_PASSWORD: &str = "bench-App-Old-2b";
const ANSIBLE_NEW_PASSWORD: &str = "bench-Ansible-New-3c";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory of this process (server and harness) since the last reset, in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Resets the peak resident memory counter (Linux `clear_refs` value 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut req = reqwest::Client::new()
        .request(method.clone(), app.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{method} {path}: {status} {body}");
    body
}

async fn start_hosts(hosts: usize, accounts: usize) -> Vec<SshHost> {
    let mut users = vec![TestUser::new("ops", OPS_PASSWORD).with_sudo()];
    for i in 0..accounts {
        users.push(TestUser::new(format!("app{i}"), OLD_PASSWORD));
    }
    let mut out = Vec::with_capacity(hosts);
    for _ in 0..hosts {
        out.push(
            SshHost::builder()
                .users(&users)
                .max_startups("1000:30:2000")
                .start()
                .await
                .unwrap(),
        );
    }
    out
}

/// Registers the hosts with Tumbler and runs one task over all their app accounts; returns
/// the run's wall time and how many accounts changed.
async fn tumbler_run(
    app: &TestApp,
    token: &str,
    hosts: &[SshHost],
    accounts: usize,
    tag: &str,
) -> (Duration, usize) {
    let mut asset_ids = Vec::new();
    for (h, host) in hosts.iter().enumerate() {
        let a = call(
            app,
            token,
            Method::POST,
            "/api/v1/assets",
            Some(json!({
            "name": format!("{tag}-{h}"), "address": host.address(), "port": host.port(),
            "platform": "linux", "host_key_fingerprint": host.host_key_fingerprint()})),
        )
        .await;
        let id = a["id"].as_str().unwrap().to_owned();
        call(
            app,
            token,
            Method::POST,
            "/api/v1/accounts",
            Some(json!({
            "asset_id": id, "username": "ops", "secret": OPS_PASSWORD, "privileged": true})),
        )
        .await;
        for i in 0..accounts {
            call(
                app,
                token,
                Method::POST,
                "/api/v1/accounts",
                Some(json!({
                "asset_id": id, "username": format!("app{i}"), "secret": OLD_PASSWORD})),
            )
            .await;
        }
        asset_ids.push(id);
    }
    let usernames: Vec<String> = (0..accounts).map(|i| format!("app{i}")).collect();
    let task = call(
        app,
        token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(json!({
        "name": format!("bench {tag}"), "usernames": usernames, "asset_ids": asset_ids,
        "secret_strategy": "random"})),
    )
    .await;
    run_task(app, token, task["id"].as_str().unwrap()).await
}

async fn run_task(app: &TestApp, token: &str, task_id: &str) -> (Duration, usize) {
    let started = Instant::now();
    let e = call(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/tasks/{task_id}/execute"),
        None,
    )
    .await;
    let id = e["execution_id"].as_str().unwrap().to_owned();
    let mut worst_read = Duration::ZERO;
    let done = loop {
        let t = Instant::now();
        let e = call(
            app,
            token,
            Method::GET,
            &format!("/api/v1/change-secret/executions/{id}"),
            None,
        )
        .await;
        // A read during the run: the server must stay responsive.
        call(app, token, Method::GET, "/api/v1/accounts?limit=50", None).await;
        worst_read = worst_read.max(t.elapsed());
        let status = e["status"].as_str().unwrap_or("").to_owned();
        if status != "pending" && status != "running" {
            break e;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = started.elapsed();
    assert_eq!(done["status"], "succeeded", "{done}");
    println!("change_run:   slowest API read while running: {worst_read:?}");
    (
        elapsed,
        done["counts"]["success"].as_u64().unwrap_or(0) as usize,
    )
}

/// `target/ansible-venv` with ansible-core, created when missing.
fn ansible_venv() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ansible-venv");
    if !dir.join("bin/ansible-playbook").exists() {
        let ok = Command::new("/usr/bin/python3")
            .args(["-m", "venv"])
            .arg(&dir)
            .status()
            .unwrap()
            .success()
            && Command::new(dir.join("bin/pip"))
                .args(["install", "-q", "ansible-core", "passlib"])
                .status()
                .unwrap()
                .success();
        assert!(ok, "could not install ansible-core into {}", dir.display());
    }
    dir
}

fn ansible_run(hosts: &[SshHost], accounts: usize) -> Duration {
    let venv = ansible_venv();
    let work = tempfile::tempdir().unwrap();
    let mut inventory = String::from("[targets]\n");
    for (i, h) in hosts.iter().enumerate() {
        inventory.push_str(&format!(
            "h{i} ansible_host={} ansible_port={} ansible_user=ops ansible_password={OPS_PASSWORD} ansible_become_password={OPS_PASSWORD}\n",
            h.address(), h.port()
        ));
    }
    std::fs::write(work.path().join("inventory"), inventory).unwrap();
    let users: Vec<String> = (0..accounts).map(|i| format!("app{i}")).collect();
    let playbook = format!(
        r#"- hosts: targets
  gather_facts: false
  become: true
  vars:
    users: {users:?}
    new_password: "{ANSIBLE_NEW_PASSWORD}"
  tasks:
    - name: change each password (sha512)
      ansible.builtin.user:
        name: "{{{{ item }}}}"
        password: "{{{{ new_password | password_hash('sha512') }}}}"
      loop: "{{{{ users }}}}"
    - name: log in with each new password
      become: false
      delegate_to: localhost
      ansible.builtin.command: >-
        sshpass -e ssh -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={known}
        -o PubkeyAuthentication=no -p {{{{ ansible_port }}}} {{{{ item }}}}@{{{{ ansible_host }}}} true
      environment:
        SSHPASS: "{{{{ new_password }}}}"
      loop: "{{{{ users }}}}"
      changed_when: false
"#,
        known = work.path().join("known_hosts_login").display()
    );
    std::fs::write(work.path().join("play.yml"), playbook).unwrap();
    let started = Instant::now();
    let out = Command::new(venv.join("bin/ansible-playbook"))
        .args(["-i", "inventory", "play.yml", "--forks"])
        .arg(hosts.len().to_string())
        .current_dir(work.path())
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
        .env(
            "PATH",
            format!(
                "{}:/usr/sbin:/usr/bin:/sbin:/bin",
                venv.join("bin").display()
            ),
        )
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "ansible failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    elapsed
}

async fn postgres_roles(app: &TestApp, token: &str, roles: usize) -> (Duration, usize) {
    let cluster = PgCluster::start().await;
    cluster
        .exec(&format!(
            "SET log_statement = 'none'; DO $$ BEGIN FOR i IN 1..{roles} LOOP \
             EXECUTE format('CREATE ROLE bench_%s LOGIN PASSWORD %L', i, '{OLD_PASSWORD}'); END LOOP; END $$;"
        ))
        .await;
    let a = call(app, token, Method::POST, "/api/v1/assets", Some(json!({
        "name": "pg-bench", "address": "127.0.0.1", "port": cluster.port(), "platform": "postgresql"}))).await;
    let asset = a["name"].as_str().unwrap().to_owned();
    let mut csv = String::from("asset,domain,username,secret_type,privileged,options,secret\n");
    csv.push_str(&format!(
        "{asset},,{},password,true,,{}\n",
        cluster.superuser(),
        cluster.superuser_password()
    ));
    for i in 1..=roles {
        csv.push_str(&format!(
            "{asset},,bench_{i},password,false,,{OLD_PASSWORD}\n"
        ));
    }
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/accounts/import"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "import: {}",
        res.text().await.unwrap()
    );
    let usernames: Vec<String> = (1..=roles).map(|i| format!("bench_{i}")).collect();
    let task = call(
        app,
        token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(json!({
        "name": "bench pg", "usernames": usernames, "asset_ids": [a["id"]],
        "secret_strategy": "random"})),
    )
    .await;
    run_task(app, token, task["id"].as_str().unwrap()).await
}

#[tokio::main]
async fn main() {
    let hosts = env_usize("CHANGE_BENCH_HOSTS", 20);
    let accounts = env_usize("CHANGE_BENCH_ACCOUNTS", 3);
    let with_ansible = env_usize("CHANGE_BENCH_ANSIBLE", 1) == 1;
    let large = env_usize("CHANGE_BENCH_LARGE", 1) == 1;
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;

    println!("change_run: {hosts} sshd hosts x {accounts} accounts, change + verify by login");
    let targets = start_hosts(hosts, accounts).await;
    let (tumbler, changed) = tumbler_run(&app, &token, &targets, accounts, "cmp").await;
    println!(
        "change_run:   tumbler  {tumbler:>10.2?}  ({changed} accounts, {:.1} accounts/s)",
        changed as f64 / tumbler.as_secs_f64()
    );
    if with_ansible {
        let ansible = ansible_run(&targets, accounts);
        println!(
            "change_run:   ansible  {ansible:>10.2?}  (ansible-core from PyPI, user module with password_hash('sha512'), \
             one looped task per step, forks={hosts}, sshpass for the logins)"
        );
        println!(
            "change_run:   tumbler is {:.1}x faster (goal: at least 10x)",
            ansible.as_secs_f64() / tumbler.as_secs_f64()
        );
    }
    drop(targets);

    if large {
        let (h, n) = (
            env_usize("CHANGE_BENCH_LARGE_HOSTS", 100),
            env_usize("CHANGE_BENCH_LARGE_ACCOUNTS", 5),
        );
        let targets = start_hosts(h, n).await;
        reset_peak();
        let (t, changed) = tumbler_run(&app, &token, &targets, n, "large").await;
        println!(
            "change_run: {h} hosts x {n} accounts: {t:.2?}, {:.1} accounts/s, peak memory {:.0} MiB",
            changed as f64 / t.as_secs_f64(),
            peak_mib()
        );
        drop(targets);
        let roles = env_usize("CHANGE_BENCH_PG_ROLES", 10_000);
        reset_peak();
        let (t, changed) = postgres_roles(&app, &token, roles).await;
        println!(
            "change_run: {roles} PostgreSQL roles: {t:.2?}, {:.1} accounts/s, peak memory {:.0} MiB",
            changed as f64 / t.as_secs_f64(),
            peak_mib()
        );
    }
    app.stop().await;
}
