//! Database accounts change on real servers: PostgreSQL roles with a verifier on a private
//! cluster, MariaDB users, Redis ACL users (new password added, verified, old one removed).

use super::{
    account, admin, asset, log_text, mariadb_dba, pg_asset, record_for, records, run, task,
    verify_account, DB_PASSWORD,
};
use serde_json::json;
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus};
use tumbler_domain::failure_code::FailureCode;
use tumbler_testkit::app::TestApp;
use tumbler_testkit::mariadb::MariaDbScratch;
use tumbler_testkit::pg_cluster::PgCluster;

#[tokio::test]
async fn postgresql_roles_change_with_a_verifier_on_a_private_cluster() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let cluster = PgCluster::start().await;
    cluster.create_role("app_role", DB_PASSWORD).await;
    let asset = pg_asset(&app, &token, "pg1", &cluster).await;
    let role = account(
        &app,
        &token,
        &asset,
        "app_role",
        DB_PASSWORD,
        false,
        json!({}),
    )
    .await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "pg rotate", "usernames": ["app_role"], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{e:?}");
    let out = verify_account(&app, &token, &role).await;
    assert_eq!((out.ok, out.account.secret_version), (true, 2));
    let old = tumbler_connectors::database::verify_postgres(
        &tumbler_connectors::database::DbTarget::new("127.0.0.1", cluster.port()),
        "app_role",
        &secrecy::SecretString::from(DB_PASSWORD.to_owned()),
        "postgres",
    )
    .await;
    assert_eq!(old.unwrap_err().code(), "auth_failed");
    let statements = cluster.log_contents();
    assert!(
        statements.contains("ALTER ROLE \"app_role\" PASSWORD 'SCRAM-SHA-256$"),
        "{statements}"
    );
    // The new password is random: reveal it through the vault and look for it in the log.
    let account_row = app
        .services
        .store
        .account(&tumbler_domain::ids::AccountId::from_string(role.clone()))
        .await
        .unwrap()
        .unwrap();
    let new = app
        .services
        .vault
        .open_secret(
            tumbler_domain::secret_owner::SecretOwner::Account,
            &role,
            account_row.current_version,
        )
        .await
        .unwrap();
    let new = String::from_utf8(new.to_vec()).unwrap();
    assert!(
        !statements.contains(&new),
        "the clear password reached the statement log"
    );
    assert!(!statements.contains(DB_PASSWORD));
}

#[tokio::test]
async fn mariadb_users_change_and_the_old_password_stops_working() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let scratch = MariaDbScratch::create().await;
    let asset = asset(
        &app,
        &token,
        json!({"name": "maria", "address": scratch.host(), "port": scratch.port(), "platform": "mysql"}),
    )
    .await;
    // A privileged account of its own, allowed to change other users' passwords.
    let dba = mariadb_dba(&app, &token, &asset, &scratch, "canary-Dba-Pw-0c4").await;
    let user_acc = account(
        &app,
        &token,
        &asset,
        scratch.user(),
        scratch.password(),
        false,
        json!({}),
    )
    .await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "maria rotate", "usernames": [scratch.user()], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{e:?}");
    let out = verify_account(&app, &token, &user_acc).await;
    assert!(out.ok, "{out:?}");
    let old = tumbler_connectors::database::verify_mysql(
        &tumbler_connectors::database::DbTarget::new(scratch.host(), scratch.port()),
        scratch.user(),
        &secrecy::SecretString::from(scratch.password().to_owned()),
    )
    .await;
    assert_eq!(old.unwrap_err().code(), "auth_failed");
    tumbler_testkit::mariadb::admin_exec(&format!("DROP USER '{dba}'@'%';")).await;
    scratch.drop_all().await;
}

/// Redis: the new password is added beside the old one as its SHA-256 hash, a login with it
/// is verified, then the old one is removed and the ACL file saved; no clear password in the
/// saved file. A user the server does not have is refused, not created.
#[tokio::test]
async fn redis_acl_users_change_by_adding_verifying_then_removing() {
    use tumbler_testkit::redis::{RedisServer, RedisUser};
    const REDIS_ADMIN: &str = "canary-Redis-Admin-71c";
    const REDIS_OLD: &str = "canary-Redis-Old-2f9";
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let redis = RedisServer::start(&[
        RedisUser::new("acl_admin", REDIS_ADMIN).admin(),
        RedisUser::new("cache_app", REDIS_OLD),
    ])
    .await;
    let asset = asset(
        &app,
        &token,
        json!({"name": "cache", "address": "127.0.0.1", "port": redis.port(), "platform": "redis"}),
    )
    .await;
    account(
        &app,
        &token,
        &asset,
        "acl_admin",
        REDIS_ADMIN,
        true,
        json!({}),
    )
    .await;
    let app_account = account(
        &app,
        &token,
        &asset,
        "cache_app",
        REDIS_OLD,
        false,
        json!({}),
    )
    .await;
    account(
        &app,
        &token,
        &asset,
        "ghost_user",
        REDIS_OLD,
        false,
        json!({}),
    )
    .await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "redis", "usernames": ["cache_app", "ghost_user"], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    let rs = records(&app, &token, e.id.as_str()).await;
    assert_eq!(
        record_for(&rs, "cache_app").status,
        RecordStatus::Success,
        "{rs:?}"
    );
    assert_eq!(
        record_for(&rs, "ghost_user").reason_code,
        Some(FailureCode::TargetRefused),
        "{rs:?}"
    );
    let target = tumbler_connectors::database::DbTarget::new("127.0.0.1", redis.port());
    let login = |user: &'static str, password: String| {
        let target = target.clone();
        async move {
            tumbler_connectors::database::verify_redis(
                &target,
                user,
                &secrecy::SecretString::from(password),
            )
            .await
        }
    };
    let row = app
        .services
        .store
        .account(&tumbler_domain::ids::AccountId::from_string(
            app_account.clone(),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.current_version, 2);
    let new = app
        .services
        .vault
        .open_secret(
            tumbler_domain::secret_owner::SecretOwner::Account,
            &app_account,
            2,
        )
        .await
        .unwrap();
    let new = String::from_utf8(new.to_vec()).unwrap();
    login("cache_app", new.clone()).await.unwrap();
    assert_eq!(
        login("cache_app", REDIS_OLD.to_owned())
            .await
            .unwrap_err()
            .code(),
        "auth_failed",
        "the old password was removed"
    );
    let log = log_text(&app, &token, e.id.as_str()).await;
    assert!(log.contains("cache_app@cache: old secret removed"), "{log}");
    // The user the server did not have was not created.
    assert_eq!(
        login("ghost_user", REDIS_OLD.to_owned())
            .await
            .unwrap_err()
            .code(),
        "auth_failed"
    );
    let saved = std::fs::read_to_string(redis.acl_file()).unwrap();
    assert!(saved.contains("user cache_app"), "{saved}");
    assert!(!saved.contains("ghost_user"), "{saved}");
    for secret in [new.as_str(), REDIS_OLD, REDIS_ADMIN] {
        assert!(!saved.contains(secret), "a clear password in the ACL file");
        assert!(!log.contains(secret));
    }
}
