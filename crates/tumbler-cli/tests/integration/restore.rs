//! A restore never loses a rotated secret: a backup taken before rotations, restored, is
//! rolled forward from the escrow journal and every account logs in again (SQLite and
//! PostgreSQL); an unwritable journal stops a change before anything is sent; a journal
//! entry moved to another account is refused, never applied.

use super::random_kill::fleet_of;
use super::{activate, stderr, stdout, tumbler, tumbler_with, Api, Server};
use std::path::Path;
use std::time::{Duration, Instant};
use tumbler_api_types::change_secret::{ExecutionView, RecordRow};
use tumbler_api_types::inventory::VerifyOut;
use tumbler_api_types::{ErrorAnswer, Page};
use tumbler_domain::change_secret::Trigger;
use tumbler_domain::failure_code::FailureCode;

/// Waits (polling, with a deadline) until `/readyz` answers 200: recovery at start is done.
async fn ready(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let status = reqwest::get(format!("{}/readyz", server.url))
            .await
            .unwrap()
            .status();
        if status == 200 {
            return;
        }
        assert_eq!(status, 503);
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A fresh server in `dir/data` with a fleet of `hosts` hosts, and a backup of its store taken
/// now at `dir/before.db`.
async fn server_with_backup(
    dir: &Path,
    hosts: usize,
) -> (
    Server,
    Api,
    Vec<tumbler_testkit::sshd::SshHost>,
    String,
    Vec<String>,
) {
    let data = dir.join("data");
    let server = Server::start(&data, &[]);
    let api = Api {
        password: activate(&server).await,
    };
    let (fleet, task_id, accounts) = fleet_of(&server, &api, hosts).await;
    let backup = dir.join("before.db");
    let out = tumbler(
        &["admin", "backup", "--out", backup.to_str().unwrap()],
        &data,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("escrow journal"),
        "the backup says where the journal is: {}",
        stdout(&out)
    );
    (server, api, fleet, task_id, accounts)
}

/// Runs the task to its end and asserts it succeeded.
async fn rotate(server: &Server, api: &Api, task_id: &str) {
    let execution = api.execute(server, task_id).await;
    assert_eq!(api.ended(server, &execution).await, "succeeded");
}

/// A verify's answer: the verdict, or an error answer (refused while a change is staged).
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum VerifyOrRefused {
    /// The account was tried.
    Verified(VerifyOut),
    /// The verify was refused.
    #[expect(dead_code, reason = "read only by Debug, in the deadline's message")]
    Refused(ErrorAnswer),
}

/// The journal replay's run (trigger `restore`).
async fn replay_run_id(server: &Server, api: &Api) -> String {
    let page: Page<ExecutionView> = api
        .json(
            server,
            reqwest::Method::GET,
            "/api/v1/change-secret/executions?limit=100",
            None,
        )
        .await;
    page.items
        .iter()
        .find(|e| e.trigger == Trigger::Restore)
        .unwrap_or_else(|| panic!("no restore run: {page:?}"))
        .id
        .as_str()
        .to_owned()
}

/// The journal replay's run: waits for it to end and returns its status.
async fn replay_run_status(server: &Server, api: &Api) -> String {
    let id = replay_run_id(server, api).await;
    api.ended(server, &id).await
}

#[tokio::test]
async fn a_backup_restored_after_two_rotations_is_rolled_forward_and_every_account_logs_in() {
    let dir = tempfile::tempdir().unwrap();
    let (data, backup) = (dir.path().join("data"), dir.path().join("before.db"));
    let (server, api, _hosts, task_id, accounts) = server_with_backup(dir.path(), 2).await;
    rotate(&server, &api, &task_id).await;
    rotate(&server, &api, &task_id).await;
    server.stop();

    let out = tumbler(
        &["admin", "restore", "--from", backup.to_str().unwrap()],
        &data,
    );
    let said = stdout(&out);
    assert!(out.status.success(), "{said}{}", stderr(&out));
    assert!(
        said.contains(&format!("{} account(s) rolled forward", accounts.len()))
            && said.contains("0 could not be settled"),
        "{said}"
    );

    let server = Server::start(&data, &[]);
    ready(&server).await;
    let versions = api.all_verify(&server, &accounts, "after restore").await;
    assert_eq!(
        versions,
        vec![3; accounts.len()],
        "the newest secret is kept"
    );
    assert_eq!(replay_run_status(&server, &api).await, "succeeded");
    server.stop();
}

#[tokio::test]
async fn a_postgresql_store_restored_with_pg_restore_is_rolled_forward_by_replay_journal() {
    let db = tumbler_testkit::postgres_store::PgStoreDb::create().await;
    let url = db.url();
    let env = [("TUMBLER_DATABASE__URL", url.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &env);
    let api = Api {
        password: activate(&server).await,
    };
    let (_hosts, task_id, accounts) = fleet_of(&server, &api, 1).await;
    let dump = dir.path().join("before.dump");
    let out = std::process::Command::new("pg_dump")
        .args(["-Fc", "-f"])
        .arg(&dump)
        .arg(&url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    rotate(&server, &api, &task_id).await;
    rotate(&server, &api, &task_id).await;
    server.stop();

    // The restore goes to a fresh database, as after losing the old one.
    let restored = tumbler_testkit::postgres_store::PgStoreDb::create().await;
    let restored_url = restored.url();
    let out = std::process::Command::new("pg_restore")
        .args(["--no-owner", "-d", &restored_url])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let env = [("TUMBLER_DATABASE__URL", restored_url.as_str())];
    let out = tumbler_with(&["admin", "replay-journal"], &data, &env);
    let said = stdout(&out);
    assert!(out.status.success(), "{said}{}", stderr(&out));
    assert!(
        said.contains(&format!("{} account(s) rolled forward", accounts.len())),
        "{said}"
    );
    let server = Server::start(&data, &env);
    ready(&server).await;
    let versions = api.all_verify(&server, &accounts, "after pg_restore").await;
    assert_eq!(versions, vec![3; accounts.len()]);
    server.stop();
    db.drop_db().await;
    restored.drop_db().await;
}

/// The journal's segment files, oldest first.
fn segments(journal: &Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(journal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn a_journal_entry_moved_to_another_account_or_altered_is_refused_never_applied() {
    let dir = tempfile::tempdir().unwrap();
    let (data, backup) = (dir.path().join("data"), dir.path().join("before.db"));
    let (server, api, _hosts, task_id, accounts) = server_with_backup(dir.path(), 1).await;
    rotate(&server, &api, &task_id).await;
    server.stop();

    // An attacker with the journal's disk copies account 0's staged secret onto account 1
    // (a newer version), and alters a byte of account 2's staged entry.
    let journal = data.join("journal");
    let segment = segments(&journal).pop().unwrap();
    let text = std::fs::read_to_string(&segment).unwrap();
    // Raw journal lines (the on-disk format, no API type): edited as text-level JSON.
    let mut lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let staged_of = |lines: &[serde_json::Value], account: &str| {
        lines
            .iter()
            .position(|l| l["kind"] == "staged" && l["account"] == account)
            .unwrap()
    };
    let mut moved = lines[staged_of(&lines, &accounts[0])].clone();
    moved["account"] = serde_json::json!(accounts[1]);
    moved["version"] = serde_json::json!(9);
    lines.push(moved);
    let altered = staged_of(&lines, &accounts[2]);
    let sealed = lines[altered]["sealed"].as_str().unwrap().to_owned();
    let flipped = if sealed.starts_with('A') { "B" } else { "A" };
    lines[altered]["sealed"] = serde_json::json!(format!("{flipped}{}", &sealed[1..]));
    let rewritten: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&segment, rewritten).unwrap();

    let out = tumbler(
        &["admin", "restore", "--from", backup.to_str().unwrap()],
        &data,
    );
    let said = stdout(&out);
    assert!(
        !out.status.success(),
        "refused entries fail the replay: {said}"
    );
    assert_eq!(
        said.matches("refused entry (never applied)").count(),
        2,
        "{said}"
    );
    assert!(
        said.contains("2 account(s) rolled forward") && said.contains("1 could not be settled"),
        "{said}"
    );

    let server = Server::start(&data, &[]);
    ready(&server).await;
    // Accounts 0 and 1 roll forward to their own new secret (never the moved one: version 9
    // does not exist); account 2, whose only new entry was refused, keeps the backup's
    // secret, which no longer logs in: it is left for a person (or reconcile), never given a
    // secret that is not its own.
    let versions = api
        .all_verify(&server, &accounts[..2], "accounts 0 and 1")
        .await;
    assert_eq!(versions, vec![2, 2]);
    let third: VerifyOut = api
        .json(
            &server,
            reqwest::Method::POST,
            &format!("/api/v1/accounts/{}/verify", accounts[2]),
            None,
        )
        .await;
    assert!(!third.ok, "{third:?}");
    assert_eq!(third.account.secret_version, 1, "{third:?}");
    server.stop();
}

#[tokio::test]
async fn an_unwritable_journal_stops_every_change_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, b"a file where the journal's parent should be").unwrap();
    let journal = blocker.join("journal");
    let env = [("TUMBLER_ESCROW__JOURNAL_DIR", journal.to_str().unwrap())];
    let server = Server::start(&data, &env);
    let api = Api {
        password: activate(&server).await,
    };
    let (hosts, task_id, accounts) = fleet_of(&server, &api, 1).await;
    let execution = api.execute(&server, &task_id).await;
    assert_eq!(api.ended(&server, &execution).await, "failed");
    let log = api.log(&server, &execution).await;
    assert!(
        log.contains("escrow_unwritable") && log.contains("the new secret was not sent"),
        "the run says why: {log}"
    );
    let records: Page<RecordRow> = api
        .json(
            &server,
            reqwest::Method::GET,
            &format!("/api/v1/change-secret/records?execution_id={execution}"),
            None,
        )
        .await;
    for r in &records.items {
        assert_eq!(r.reason_code, Some(FailureCode::EscrowUnwritable), "{r:?}");
    }
    // Nothing reached the target: the first secrets still log in, and chpasswd never ran.
    assert_eq!(
        api.all_verify(&server, &accounts, "unwritable journal")
            .await,
        vec![1; accounts.len()]
    );
    assert!(
        !hosts[0].command_log().contains("chpasswd"),
        "{}",
        hosts[0].command_log()
    );
    server.stop();
}

#[tokio::test]
async fn entries_sealed_under_a_master_key_rotated_after_the_backup_open_with_that_key() {
    let dir = tempfile::tempdir().unwrap();
    let (data, backup) = (dir.path().join("data"), dir.path().join("before.db"));
    let (server, api, _hosts, task_id, accounts) = server_with_backup(dir.path(), 1).await;
    rotate(&server, &api, &task_id).await;
    server.stop();
    let out = tumbler(&["admin", "rotate-master-key"], &data);
    assert!(out.status.success(), "{}", stderr(&out));
    let server = Server::start(&data, &[]);
    rotate(&server, &api, &task_id).await;
    server.stop();

    // The backup opens only with the key of its time: put it back, keep the new one aside.
    let retired = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("master.key.retired-"))
        .unwrap();
    let newer = dir.path().join("newer.key");
    std::fs::rename(data.join("master.key"), &newer).unwrap();
    std::fs::copy(&retired, data.join("master.key")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        data.join("master.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();

    let out = tumbler(
        &[
            "admin",
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--no-replay",
        ],
        &data,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = tumbler(&["admin", "replay-journal"], &data);
    let said = stdout(&out);
    assert!(
        !out.status.success() && said.contains("refused entry"),
        "without the newer key its entries are refused: {said}"
    );
    let out = tumbler(
        &[
            "admin",
            "replay-journal",
            "--journal-key",
            newer.to_str().unwrap(),
        ],
        &data,
    );
    let said = stdout(&out);
    assert!(out.status.success(), "{said}{}", stderr(&out));
    let server = Server::start(&data, &[]);
    ready(&server).await;
    assert_eq!(
        api.all_verify(&server, &accounts, "across a key rotation")
            .await,
        vec![3; accounts.len()]
    );
    server.stop();
}

#[tokio::test]
async fn a_journal_whose_disk_was_replaced_is_completed_from_its_copy_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let copy = dir.path().join("copy");
    let env = [("TUMBLER_ESCROW__COPY_DIR", copy.to_str().unwrap())];
    let server = Server::start(&data, &env);
    let api = Api {
        password: activate(&server).await,
    };
    let (_hosts, task_id, accounts) = fleet_of(&server, &api, 1).await;
    let backup = dir.path().join("before.db");
    assert!(tumbler_with(
        &["admin", "backup", "--out", backup.to_str().unwrap()],
        &data,
        &env
    )
    .status
    .success());
    rotate(&server, &api, &task_id).await;
    server.stop();
    // The journal's disk is replaced: the primary starts empty, the copy holds everything.
    std::fs::remove_dir_all(data.join("journal")).unwrap();
    let server = Server::start(&data, &env);
    rotate(&server, &api, &task_id).await;
    server.stop();

    // Read primary first (only the second rotation), then the copy (both): entries must be
    // taken in time order, not directory order, or the newest secret is not tried first.
    let out = tumbler_with(
        &["admin", "restore", "--from", backup.to_str().unwrap()],
        &data,
        &env,
    );
    let said = stdout(&out);
    assert!(out.status.success(), "{said}{}", stderr(&out));
    let server = Server::start(&data, &env);
    ready(&server).await;
    assert_eq!(
        api.all_verify(&server, &accounts, "primary replaced").await,
        vec![3; accounts.len()]
    );
    // Recovery found the newest secret at its first login (the staged one): no failed login.
    let log = api.log(&server, &replay_run_id(&server, &api).await).await;
    assert_eq!(
        log.matches("recovery found pending").count(),
        accounts.len(),
        "{log}"
    );
    server.stop();
}

#[tokio::test]
async fn with_reconcile_after_restore_an_account_no_secret_opens_is_reconciled() {
    let dir = tempfile::tempdir().unwrap();
    let (data, backup) = (dir.path().join("data"), dir.path().join("before.db"));
    let (server, api, hosts, task_id, accounts) = server_with_backup(dir.path(), 1).await;
    rotate(&server, &api, &task_id).await;
    server.stop();
    // Outside Tumbler, someone sets app0's password: neither the journal nor the backup has it.
    hosts[0]
        .set_password("app0", "Set-By-Hand-Not-Stored-9")
        .await
        .unwrap();
    let env = [("TUMBLER_ESCROW__RECONCILE_AFTER_RESTORE", "true")];
    let out = tumbler_with(
        &["admin", "restore", "--from", backup.to_str().unwrap()],
        &data,
        &env,
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let server = Server::start(&data, &env);
    ready(&server).await;
    // The replay's run fails app0 (no stored secret logs in); reconcile then sets a new one
    // through the privileged account (polling, with a deadline).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        // Until reconciled, the verify may be refused (`account_staged`): keep polling.
        let v: VerifyOrRefused = api
            .json(
                &server,
                reqwest::Method::POST,
                &format!("/api/v1/accounts/{}/verify", accounts[0]),
                None,
            )
            .await;
        if matches!(&v, VerifyOrRefused::Verified(v) if v.ok) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "app0 was never reconciled: {v:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let log = api.log(&server, &replay_run_id(&server, &api).await).await;
    assert!(
        log.contains("reconcile after restore: 1 account(s)"),
        "{log}"
    );
    assert_eq!(
        api.all_verify(&server, &accounts, "after reconcile")
            .await
            .len(),
        accounts.len()
    );
    server.stop();
}
