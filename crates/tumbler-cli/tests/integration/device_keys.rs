//! Device keys: the key commands, and a server killed during a key regeneration.

use super::{activate, client, stderr, stdout, Api, Server};
use std::time::Duration;
use std::time::Instant;
use tumbler_api_types::answers::JobStarted;
use tumbler_api_types::device_keys::{JobView, SystemKeyView};
use tumbler_api_types::inventory::{AccountOut, AssetOut};
use tumbler_domain::job::JobStatus;

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
        let asset: AssetOut = api
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
        let id = asset.id;
        let _: AccountOut = api
            .json(
                server,
                post.clone(),
                "/api/v1/accounts",
                Some(serde_json::json!({"asset_id": id, "username": "ops",
                "secret": "canary-Ops-Keys-5d", "privileged": true})),
            )
            .await;
        let job: JobStarted = api
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
        let job = api.job_end(server, job.job_id.as_str()).await;
        assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
        hosts.push(host);
        ids.push(id);
    }
    (hosts, ids)
}

impl Api {
    /// Waits (polling, with a deadline) for a job to end; returns it.
    async fn job_end(&self, server: &Server, id: &str) -> JobView {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let job: JobView = self
                .json(
                    server,
                    reqwest::Method::GET,
                    &format!("/api/v1/jobs/{id}"),
                    None,
                )
                .await;
            if job.status != JobStatus::Running {
                return job;
            }
            assert!(Instant::now() < deadline, "job never ended: {job:?}");
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
        let old: SystemKeyView = api
            .json(
                &server,
                reqwest::Method::GET,
                "/api/v1/system/ssh-key",
                None,
            )
            .await;
        let old = old.fingerprint;
        let started: JobStarted = api
            .json(
                &server,
                reqwest::Method::POST,
                "/api/v1/system/ssh-key/regenerate",
                Some(serde_json::json!({})),
            )
            .await;
        let job = started.job_id.to_string();
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
        assert_eq!(done.status, JobStatus::Succeeded, "{point}: {done:?}");
        assert_eq!(done.done, DEVICES as i64, "{point}: {done:?}");
        let key: SystemKeyView = api
            .json(
                &server,
                reqwest::Method::GET,
                "/api/v1/system/ssh-key",
                None,
            )
            .await;
        let current = key.fingerprint;
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
            let tested: AssetOut = api
                .json(
                    &server,
                    reqwest::Method::POST,
                    &format!("/api/v1/assets/{id}/test"),
                    None,
                )
                .await;
            assert_eq!(tested.connectivity, "ok", "{point}: {tested:?}");
            assert_eq!(tested.auth_status, "key_based", "{point}: {tested:?}");
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
    let tested: AssetOut = api
        .json(
            &server,
            reqwest::Method::POST,
            &format!("/api/v1/assets/{}/test", ids[1]),
            None,
        )
        .await;
    assert_eq!(tested.auth_status, "key_conflict", "{tested:?}");

    // DSS is not offered: refused before any request, naming what is.
    let out = cli(&["key", "regenerate", "--algorithm", "dss"], "");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("[possible values: ed25519, ecdsa, rsa]"),
        "{}",
        stderr(&out)
    );
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
    let a: AssetOut = api
        .json(
            &server,
            reqwest::Method::POST,
            &format!("/api/v1/assets/{}/test", ids[1]),
            None,
        )
        .await;
    assert_eq!(a.auth_status, "key_based", "{a:?}");
    assert_eq!(a.auth_username, "keyadmin", "{a:?}");
    let (_, log) = server.stop();
    assert!(
        !log.contains("canary-Cli-Admin-Pw-4b"),
        "the password leaked"
    );
}
