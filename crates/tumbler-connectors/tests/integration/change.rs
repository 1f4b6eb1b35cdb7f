//! Changing passwords on real targets: `chpasswd` through sudo and su on OpenSSH test hosts,
//! `ALTER ROLE` with a SCRAM verifier on a private PostgreSQL cluster, and the native hash on
//! MariaDB. Each test proves the new password logs in, the old one no longer does, and no
//! clear password reached a command line or a statement log.

use std::time::Duration;

use secrecy::SecretString;
use tumbler_connectors::database::{
    verify_mysql, verify_postgres, DbTarget, MysqlAdmin, PostgresAdmin,
};
use tumbler_connectors::ssh::{
    change_password_chpasswd, Become, HostKeyPolicy, SshConnector, SshCredentials, SshTarget,
    TargetShell,
};
use tumbler_testkit::mariadb::MariaDbScratch;
use tumbler_testkit::pg_cluster::PgCluster;
use tumbler_testkit::sshd::{SshHost, TestUser};

fn connector() -> SshConnector {
    SshConnector::new()
        .with_connect_timeout(Duration::from_secs(30))
        .with_command_timeout(Duration::from_secs(30))
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

async fn logs_in(host: &SshHost, user: &str, password: &str) -> bool {
    let policy = HostKeyPolicy::Pinned(host.host_key_fingerprint().parse().unwrap());
    connector()
        .connect(
            &SshTarget::new(host.address(), host.port()),
            &policy,
            &SshCredentials::password(user, secret(password)),
        )
        .await
        .is_ok()
}

async fn admin_session(
    host: &SshHost,
    user: &str,
    password: &str,
) -> tumbler_connectors::ssh::SshSession {
    let policy = HostKeyPolicy::Pinned(host.host_key_fingerprint().parse().unwrap());
    connector()
        .connect(
            &SshTarget::new(host.address(), host.port()),
            &policy,
            &SshCredentials::password(user, secret(password)),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn chpasswd_through_sudo_changes_the_password_and_no_secret_is_an_argument() {
    let admin_pw = "Canary-Sudo-Pw-41a9";
    let old = "Canary-Old-Pw-77c2";
    let new = "Canary-New-Pw-e9d0:with colon";
    let host = SshHost::start(&[
        TestUser::new("opsadmin", admin_pw).with_sudo(),
        TestUser::new("appuser", old),
    ])
    .await
    .unwrap();
    let session = admin_session(&host, "opsadmin", admin_pw).await;
    change_password_chpasswd(
        &TargetShell::new(&session, &Become::Sudo(secret(admin_pw)), "/bin/sh"),
        "appuser",
        &secret(new),
    )
    .await
    .unwrap();
    // The same connection serves a second change.
    change_password_chpasswd(
        &TargetShell::new(&session, &Become::Sudo(secret(admin_pw)), "/bin/sh"),
        "appuser",
        &secret(new),
    )
    .await
    .unwrap();
    session.close().await.unwrap();
    assert!(logs_in(&host, "appuser", new).await);
    assert!(!logs_in(&host, "appuser", old).await);
    let commands = host.command_log();
    assert!(
        commands.contains("chpasswd"),
        "snoopy saw nothing: {commands}"
    );
    for s in [admin_pw, old, new, "Canary-New-Pw"] {
        assert!(!commands.contains(s), "{s} in a command line:\n{commands}");
        assert!(!host.auth_log().contains(s));
    }
}

#[tokio::test]
async fn a_wrong_sudo_password_is_become_refused_and_changes_nothing() {
    let host = SshHost::start(&[
        TestUser::new("opsadmin", "right-sudo-pw-1").with_sudo(),
        TestUser::new("appuser", "app-old-pw-1"),
    ])
    .await
    .unwrap();
    let shadow = host.shadow_entry("appuser").await.unwrap();
    let session = admin_session(&host, "opsadmin", "right-sudo-pw-1").await;
    let err = change_password_chpasswd(
        &TargetShell::new(
            &session,
            &Become::Sudo(secret("wrong-sudo-pw-1")),
            "/bin/sh",
        ),
        "appuser",
        &secret("app-new-pw-1"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "become_refused", "{err}");
    assert!(!err.to_string().contains("wrong-sudo-pw-1"));
    assert_eq!(host.shadow_entry("appuser").await.unwrap(), shadow);

    // A user without sudo rights is refused too, with sudo's reason.
    let session = admin_session(&host, "appuser", "app-old-pw-1").await;
    let err = change_password_chpasswd(
        &TargetShell::new(&session, &Become::Sudo(secret("app-old-pw-1")), "/bin/sh"),
        "opsadmin",
        &secret("app-new-pw-1"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "become_refused", "{err}");
    assert!(logs_in(&host, "opsadmin", "right-sudo-pw-1").await);
}

#[tokio::test]
async fn chpasswd_through_su_changes_the_password() {
    let root_pw = "Canary-Root-Pw-5f10";
    let host = SshHost::start(&[
        TestUser::new("operator1", "operator-pw-1"),
        TestUser::new("appuser", "app-old-pw-2"),
    ])
    .await
    .unwrap();
    host.set_password("root", root_pw).await.unwrap();
    let session = admin_session(&host, "operator1", "operator-pw-1").await;
    change_password_chpasswd(
        &TargetShell::new(&session, &Become::Su(secret(root_pw)), "/bin/sh"),
        "appuser",
        &secret("app-new-pw-2"),
    )
    .await
    .unwrap();
    let err = change_password_chpasswd(
        &TargetShell::new(&session, &Become::Su(secret("not-the-root-pw")), "/bin/sh"),
        "appuser",
        &secret("app-newer-pw-2"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "become_refused", "{err}");
    session.close().await.unwrap();
    assert!(logs_in(&host, "appuser", "app-new-pw-2").await);
    assert!(!logs_in(&host, "appuser", "app-old-pw-2").await);
    assert!(!host.command_log().contains(root_pw));
}

#[tokio::test]
async fn postgresql_gets_a_scram_verifier_and_never_the_clear_password() {
    let cluster = PgCluster::start().await;
    cluster.create_role("app_role", "pg-old-pw-1").await;
    let target = DbTarget::new("127.0.0.1", cluster.port());
    let new = "Canary-Pg-New-8c1e";
    let mut admin = PostgresAdmin::connect(
        &target,
        cluster.superuser(),
        &secret(cluster.superuser_password()),
        "postgres",
    )
    .await
    .unwrap();
    admin.set_password("app_role", &secret(new)).await.unwrap();
    admin.close().await;
    verify_postgres(&target, "app_role", &secret(new), "postgres")
        .await
        .unwrap();
    let err = verify_postgres(&target, "app_role", &secret("pg-old-pw-1"), "postgres")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "auth_failed");
    let log = cluster.log_contents();
    assert!(log.contains("ALTER ROLE"), "the statement log is on: {log}");
    assert!(log.contains("SCRAM-SHA-256$4096:"));
    assert!(!log.contains(new), "the clear password reached the log");

    // A role may change its own password when no privileged account is set.
    let mut own = PostgresAdmin::connect(&target, "app_role", &secret(new), "postgres")
        .await
        .unwrap();
    own.set_password("app_role", &secret("pg-own-pw-2"))
        .await
        .unwrap();
    own.close().await;
    verify_postgres(&target, "app_role", &secret("pg-own-pw-2"), "postgres")
        .await
        .unwrap();

    // A Unicode password becomes a verifier that logs in; one that SASLprep would change
    // (here the ligature "ﬁ", U+FB01) or with a NUL is refused before anything is sent.
    let unicode = "Canary-Pässwörd-✓-日本";
    let mut admin = PostgresAdmin::connect(
        &target,
        cluster.superuser(),
        &secret(cluster.superuser_password()),
        "postgres",
    )
    .await
    .unwrap();
    admin
        .set_password("app_role", &secret(unicode))
        .await
        .unwrap();
    for refused in ["Canary-Pässwörd-ﬁ", "Canary-nul\0byte"] {
        let err = admin
            .set_password("app_role", &secret(refused))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "unsupported_secret");
        assert!(!err.to_string().contains("Canary"));
    }
    admin.close().await;
    verify_postgres(&target, "app_role", &secret(unicode), "postgres")
        .await
        .unwrap();
    let err = verify_postgres(&target, "app_role", &secret("pg-own-pw-2"), "postgres")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "auth_failed");
    let log = cluster.log_contents();
    assert!(
        !log.contains("Canary-P"),
        "the clear password reached the log"
    );
}

#[tokio::test]
async fn mariadb_gets_the_native_hash() {
    let scratch = MariaDbScratch::create().await;
    let target = DbTarget::new(scratch.host(), scratch.port());
    let new = "Canary-My-New-3d7b'\\x";
    let mut admin = MysqlAdmin::connect(&target, tumbler_testkit::mariadb::ADMIN_USER, &secret(""))
        .await
        .unwrap();
    admin
        .set_password(scratch.user(), &secret(new))
        .await
        .unwrap();
    let err = admin
        .set_password("no_such_user_tumbler", &secret(new))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "protocol");
    admin.close().await;
    verify_mysql(&target, scratch.user(), &secret(new))
        .await
        .unwrap();
    let err = verify_mysql(&target, scratch.user(), &secret(scratch.password()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "auth_failed");
    scratch.drop_all().await;
}
