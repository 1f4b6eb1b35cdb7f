//! The random-moment crash test: a run over 10 sshd hosts x 3 accounts, the server killed
//! (SIGKILL) when the run's records show a random amount of progress, never after it ended;
//! after each restart every account's stored secret logs in and no account is `changing`.

use super::{activate, Api, Server, WAIT};
use std::time::{Duration, Instant};
use tumbler_api_types::change_secret::{ExecutionView, RecordRow, TaskView};
use tumbler_api_types::inventory::{AccountOut, AssetOut};
use tumbler_api_types::users::CreatedToken;
use tumbler_api_types::Page;
use tumbler_domain::change_secret::RecordStatus;
use tumbler_testkit::sshd::{SshHost, TestUser};

/// Hosts of the fleet.
const HOSTS: usize = 10;
/// Accounts changed on each host.
const ACCOUNTS: usize = 3;

/// Rounds of the random-kill crash test (`CRASH_ROUNDS`; 3 in CI, 25 for the README's long
/// run).
fn crash_rounds() -> usize {
    std::env::var("CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// `HOSTS` hosts, each with a sudo account and `ACCOUNTS` app accounts, registered with their
/// keys pinned, and one task rotating every app account of every host. Returns the hosts, the
/// task id and the app accounts' ids.
async fn fleet(server: &Server, api: &Api) -> (Vec<SshHost>, String, Vec<String>) {
    fleet_of(server, api, HOSTS).await
}

/// [`fleet`] with `count` hosts.
pub(super) async fn fleet_of(
    server: &Server,
    api: &Api,
    count: usize,
) -> (Vec<SshHost>, String, Vec<String>) {
    let post = reqwest::Method::POST;
    let mut hosts = Vec::new();
    let mut asset_ids = Vec::new();
    let mut app_ids = Vec::new();
    for h in 0..count {
        let mut users = vec![TestUser::new("ops", format!("canary-Ops-Fleet-{h}-7a")).with_sudo()];
        for i in 0..ACCOUNTS {
            users.push(TestUser::new(
                format!("app{i}"),
                format!("canary-App-Fleet-{h}-{i}"),
            ));
        }
        let host = SshHost::start(&users).await.unwrap();
        let asset: AssetOut = api
            .json(
                server,
                post.clone(),
                "/api/v1/assets",
                Some(
                    serde_json::json!({"name": format!("fleet{h}"), "address": host.address(),
                    "port": host.port(), "platform": "linux",
                    "host_key_fingerprint": host.host_key_fingerprint()}),
                ),
            )
            .await;
        let asset_id = asset.id;
        for (i, u) in users.iter().enumerate() {
            let a: AccountOut = api
                .json(
                    server,
                    post.clone(),
                    "/api/v1/accounts",
                    Some(serde_json::json!({"asset_id": asset_id, "username": u.name,
                        "secret": u.password, "privileged": i == 0})),
                )
                .await;
            if i > 0 {
                app_ids.push(a.id);
            }
        }
        asset_ids.push(asset_id);
        hosts.push(host);
    }
    let usernames: Vec<String> = (0..ACCOUNTS).map(|i| format!("app{i}")).collect();
    let task: TaskView = api
        .json(
            server,
            post,
            "/api/v1/change-secret/tasks",
            Some(serde_json::json!({"name": "fleet", "usernames": usernames,
                "asset_ids": asset_ids, "secret_strategy": "random"})),
        )
        .await;
    (hosts, task.id.as_str().to_owned(), app_ids)
}

/// An API token of the admin: the progress polls use it, not HTTP Basic, so a poll cut off by
/// its short timeout is no password attempt (under load, dropped Basic attempts would count
/// towards the source throttle and lock the test out).
async fn token(server: &Server, api: &Api) -> String {
    let t: CreatedToken = reqwest::Client::new()
        .post(format!("{}/api/v1/users/me/tokens", server.url))
        .basic_auth("admin", Some(&api.password))
        .json(&serde_json::json!({"name": "progress"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    t.token
}

/// How far the run is: its records, those that left `pending`, and whether it ended. Each request
/// is bounded by a short timeout, so a slow answer never makes the kill late.
async fn progress(server: &Server, token: &str, execution: &str) -> Option<(usize, usize, bool)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let get = |path: String| {
        client
            .get(format!("{}{path}", server.url))
            .bearer_auth(token)
            .send()
    };
    let records: Page<RecordRow> = get(format!(
        "/api/v1/change-secret/records?execution_id={execution}&limit=100"
    ))
    .await
    .ok()?
    .json()
    .await
    .ok()?;
    let items = records.items;
    let done = items
        .iter()
        .filter(|r| r.status != RecordStatus::Pending)
        .count();
    let e: ExecutionView = get(format!("/api/v1/change-secret/executions/{execution}"))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let ended = e.status.is_final();
    Some((items.len(), done, ended))
}

/// Waits (polling, with a deadline) until no account of `accounts` is `changing`.
async fn none_changing(server: &Server, api: &Api, accounts: &[String], context: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let mut changing = Vec::new();
        for id in accounts {
            let a: AccountOut = api
                .json(
                    server,
                    reqwest::Method::GET,
                    &format!("/api/v1/accounts/{id}"),
                    None,
                )
                .await;
            if a.status == "changing" {
                changing.push(a);
            }
        }
        if changing.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{context}: accounts left changing: {changing:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_server_killed_at_random_moments_of_a_run_never_loses_a_working_password() {
    use rand::Rng;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data, &[]);
    let api = Api {
        password: activate(&server).await,
    };
    let token = token(&server, &api).await;
    let setup = Instant::now();
    let (_hosts, task_id, accounts) = fleet(&server, &api).await;
    eprintln!("fleet ready in {:?}", setup.elapsed());
    let total = HOSTS * ACCOUNTS;
    let mut mid_run = 0;
    let rounds = crash_rounds();
    for round in 0..rounds {
        let execution = api.execute(&server, &task_id).await;
        // Kill once a random number of records has settled (0: as soon as the run shows it
        // is under way), in the run's first half: a poll reliably sees that moment before the
        // run ends (a later target raced a fast run's end), so the kill never follows it.
        let kill_at = rand::thread_rng().gen_range(0..total / 2);
        let deadline = Instant::now() + 2 * WAIT;
        let started = Instant::now();
        let mut last = None;
        let seen = loop {
            if let Some((planned, done, ended)) = progress(&server, &token, &execution).await {
                assert!(
                    !ended,
                    "round {round}: the run ended before {kill_at} records settled"
                );
                if planned == total && done >= kill_at {
                    break done;
                }
                last = Some((planned, done));
            }
            if Instant::now() > deadline {
                let e: ExecutionView = api
                    .json(
                        &server,
                        reqwest::Method::GET,
                        &format!("/api/v1/change-secret/executions/{execution}"),
                        None,
                    )
                    .await;
                panic!(
                    "round {round}: the run showed no progress: (records, settled) {last:?}, {e:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        eprintln!(
            "round {round}: killed {:?} after execute, {seen} of {total} records settled",
            started.elapsed()
        );
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        drop(server);
        server = Server::start(&data, &[]);
        let context = format!("round {round}, killed after {seen} of {total} records settled");
        let restarted = Instant::now();
        // Recovery at start settles every account the run left staged, then ends the run.
        let status = api.ended(&server, &execution).await;
        if status == "interrupted" {
            mid_run += 1;
        }
        eprintln!(
            "round {round}: run ended {status} {:?} after the restart",
            restarted.elapsed()
        );
        none_changing(&server, &api, &accounts, &context).await;
        eprintln!(
            "round {round}: none changing {:?} after the restart",
            restarted.elapsed()
        );
        api.all_verify(&server, &accounts, &context).await;
        eprintln!(
            "round {round}: all verified {:?} after the restart",
            restarted.elapsed()
        );
        let log = api.log(&server, &execution).await;
        assert_eq!(
            log.matches("finished:").count(),
            1,
            "{context}: one end of the run: {log}"
        );
    }
    assert!(
        mid_run >= 1,
        "no kill of {rounds} landed before the run ended"
    );
    server.stop();
}
