//! Specified secrets on database targets: a PostgreSQL role changed by the cluster's superuser
//! and another changing itself, and MariaDB users changed by an administrator and by
//! themselves; the specified secret logs in, the old one does not, and neither PostgreSQL's
//! statement log nor MariaDB's general log ever holds the clear password.

use super::change_secret::{
    account, admin, mariadb_dba, record_for, records, run, task, verify_account,
};
use serde_json::json;
use tumbler_connectors::database::{verify_mysql, verify_postgres, DbTarget};
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus};
use tumbler_testkit::app::TestApp;
use tumbler_testkit::mariadb::{admin_exec, MariaDbScratch};
use tumbler_testkit::pg_cluster::PgCluster;

const PG_OLD: &str = "canary-Pg-Old-4b1e";
const PG_SPECIFIED: &str = "canary-Pg-Specified-9a7c";
const MARIA_SPECIFIED: &str = "canary-Maria-Specified-2f6d";

fn secret(s: &str) -> secrecy::SecretString {
    secrecy::SecretString::from(s.to_owned())
}

/// A database asset on loopback; returns its id.
async fn asset(app: &TestApp, token: &str, name: &str, port: u16, platform: &str) -> String {
    super::change_secret::asset(
        app,
        token,
        json!({"name": name, "address": "127.0.0.1", "port": port, "platform": platform}),
    )
    .await
}

/// The lines of the statement log that mention `needle`.
fn lines_with<'a>(log: &'a str, needle: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(needle)).collect()
}

#[tokio::test]
async fn postgresql_roles_take_a_specified_secret_from_the_superuser_and_from_themselves() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let cluster = PgCluster::start().await;
    cluster.create_role("by_superuser", PG_OLD).await;
    cluster.create_role("by_itself", PG_OLD).await;
    // One asset whose privileged account is the superuser; one with no privileged account,
    // where the role logs in as itself to change its password.
    let managed = asset(&app, &token, "pg-managed", cluster.port(), "postgresql").await;
    account(
        &app,
        &token,
        &managed,
        cluster.superuser(),
        cluster.superuser_password(),
        true,
        json!({}),
    )
    .await;
    let by_su = account(
        &app,
        &token,
        &managed,
        "by_superuser",
        PG_OLD,
        false,
        json!({}),
    )
    .await;
    let alone = asset(&app, &token, "pg-alone", cluster.port(), "postgresql").await;
    let by_self = account(&app, &token, &alone, "by_itself", PG_OLD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "pg specified", "usernames": ["by_superuser", "by_itself"],
               "asset_ids": [managed, alone], "secret_strategy": "specified",
               "secret": PG_SPECIFIED}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{e:?}");
    assert_eq!(e.counts.get(&RecordStatus::Success), Some(&2), "{e:?}");
    let target = DbTarget::new("127.0.0.1", cluster.port());
    for (role, id) in [("by_superuser", &by_su), ("by_itself", &by_self)] {
        verify_postgres(&target, role, &secret(PG_SPECIFIED), "postgres")
            .await
            .unwrap_or_else(|e| panic!("{role} with the specified secret: {e}"));
        assert_eq!(
            verify_postgres(&target, role, &secret(PG_OLD), "postgres")
                .await
                .unwrap_err()
                .code(),
            "auth_failed",
            "{role}'s old password"
        );
        let out = verify_account(&app, &token, id).await;
        assert_eq!((out.ok, out.account.secret_version), (true, 2), "{out:?}");
    }
    // Who changed whom, from the server's own statement log (`user@database` prefix): the
    // superuser altered the managed role, the other role altered itself; both as verifiers.
    let log = cluster.log_contents();
    let su_alter = lines_with(&log, "ALTER ROLE \"by_superuser\" PASSWORD 'SCRAM-SHA-256$");
    assert_eq!(su_alter.len(), 1, "{log}");
    assert!(
        su_alter[0].contains(&format!(" {}@postgres ", cluster.superuser())),
        "{}",
        su_alter[0]
    );
    let self_alter = lines_with(&log, "ALTER ROLE \"by_itself\" PASSWORD 'SCRAM-SHA-256$");
    assert_eq!(self_alter.len(), 1, "{log}");
    assert!(
        self_alter[0].contains(" by_itself@postgres "),
        "{}",
        self_alter[0]
    );
    assert!(!log.contains(PG_SPECIFIED), "the clear password was logged");
    assert!(!log.contains(PG_OLD));
}

/// Turns MariaDB's general log on into a file of this test, and off again when dropped.
struct GeneralLog {
    path: std::path::PathBuf,
}

impl GeneralLog {
    async fn start() -> Self {
        let path = std::path::PathBuf::from(format!(
            "/tmp/tumbler-general-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        admin_exec(&format!(
            "SET GLOBAL general_log_file = '{}'; SET GLOBAL general_log = 1;",
            path.display()
        ))
        .await;
        Self { path }
    }

    fn contents(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.path).unwrap_or_default()).into_owned()
    }
}

impl Drop for GeneralLog {
    fn drop(&mut self) {
        let _ = std::process::Command::new("mariadb")
            .args(["-uroot", "-h127.0.0.1", "-e", "SET GLOBAL general_log = 0"])
            .status();
        let _ = std::fs::remove_file(&self.path);
    }
}

#[tokio::test]
async fn mariadb_users_take_a_specified_secret_and_the_general_log_never_holds_it() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let itself = MariaDbScratch::create().await;
    let managed = MariaDbScratch::create().await;
    // A user alone on its asset changes its own password; the other is changed by the dba.
    let alone = asset(&app, &token, "maria-alone", itself.port(), "mysql").await;
    let self_acc = account(
        &app,
        &token,
        &alone,
        itself.user(),
        itself.password(),
        false,
        json!({}),
    )
    .await;
    let with_dba = asset(&app, &token, "maria-dba", managed.port(), "mysql").await;
    let dba = mariadb_dba(&app, &token, &with_dba, &managed, "canary-Dba-Pw-6e2").await;
    let managed_acc = account(
        &app,
        &token,
        &with_dba,
        managed.user(),
        managed.password(),
        false,
        json!({}),
    )
    .await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "maria specified", "usernames": [itself.user(), managed.user()],
               "asset_ids": [alone, with_dba], "secret_strategy": "specified",
               "secret": MARIA_SPECIFIED}),
    )
    .await;
    let general = GeneralLog::start().await;
    let e = run(&app, &token, &task_id).await;
    let log = general.contents();
    drop(general);
    let rs = records(&app, &token, e.id.as_str()).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{e:?} {rs:?}");
    assert_eq!(record_for(&rs, itself.user()).status, RecordStatus::Success);
    assert_eq!(
        record_for(&rs, managed.user()).status,
        RecordStatus::Success
    );
    let target = DbTarget::new(itself.host(), itself.port());
    for (scratch, id) in [(&itself, &self_acc), (&managed, &managed_acc)] {
        verify_mysql(&target, scratch.user(), &secret(MARIA_SPECIFIED))
            .await
            .unwrap_or_else(|e| panic!("{} with the specified secret: {e}", scratch.user()));
        assert_eq!(
            verify_mysql(&target, scratch.user(), &secret(scratch.password()))
                .await
                .unwrap_err()
                .code(),
            "auth_failed"
        );
        assert!(verify_account(&app, &token, id).await.ok);
    }
    // The general log saw both changes, as the native hash only.
    let hash = tumbler_connectors::database::mysql_native_hash(MARIA_SPECIFIED);
    assert!(
        log.contains(&format!("SET PASSWORD = '{hash}'")),
        "the user's own change is in the general log: {log}"
    );
    assert!(
        log.contains(&format!(
            "SET PASSWORD FOR '{}'@'%' = '{hash}'",
            managed.user()
        )),
        "the dba's change is in the general log: {log}"
    );
    assert!(
        !log.contains(MARIA_SPECIFIED),
        "the clear password reached MariaDB's general log"
    );
    admin_exec(&format!("DROP USER '{dba}'@'%';")).await;
    itself.drop_all().await;
    managed.drop_all().await;
}
