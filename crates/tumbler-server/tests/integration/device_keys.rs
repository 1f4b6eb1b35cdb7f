//! Device keys against real sshd hosts: three devices switch to the system key (their admin
//! user created through the privileged account); one is down while the key is regenerated;
//! the two running ones end with only the new key and still log in; the third, back, is in
//! key conflict at the next contact and is resolved with the admin password (a user that did
//! not exist yet), and another conflict with an uploaded custom key with a passphrase.

use super::change_secret::{account, admin, linux_asset, OPS_PASSWORD};
use super::support::{call, error_code, error_field, ok, ok_as, typed};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tumbler_api_types::answers::{ExportedKey, JobStarted};
use tumbler_api_types::device_keys::{JobView, SystemKeyView};
use tumbler_api_types::inventory::AssetOut;
use tumbler_api_types::ErrorAnswer;
use tumbler_api_types::Page;
use tumbler_connectors::ssh::{
    encrypt_private_key, generate_key_pair, public_key_fingerprint, public_key_line,
};
use tumbler_domain::job::{JobStatus, OutcomeStatus};
use tumbler_domain::ssh_key::KeyAlgorithm;
use tumbler_testkit::app::TestApp;
use tumbler_testkit::logs::LogCapture;
use tumbler_testkit::sshd::{SshHost, TestUser};

const ADMIN_PASSWORD_TYPED: &str = "canary-Device-Admin-9e1f";
const PASSPHRASE: &str = "canary-Passphrase-31c7";

/// Waits for a job to end; returns it.
pub(super) async fn wait_for_job(app: &TestApp, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let job = ok(
            app,
            token,
            Method::GET,
            &format!("/api/v1/jobs/{id}"),
            None,
            200,
        )
        .await;
        if typed::<JobView>(job.clone()).status != JobStatus::Running {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} did not end: {job}");

        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The system key.
pub(super) async fn system_key(app: &TestApp, token: &str) -> SystemKeyView {
    ok_as(app, token, Method::GET, "/api/v1/system/ssh-key", None, 200).await
}

/// The audit's latest events as sent (the tests look for secrets anywhere in them).
pub(super) async fn audit_text(app: &TestApp, token: &str) -> String {
    ok(
        app,
        token,
        Method::GET,
        "/api/v1/audit?limit=500",
        None,
        200,
    )
    .await
    .to_string()
}

async fn started(app: &TestApp, token: &str, path: &str, body: Value) -> String {
    let r: JobStarted = ok_as(app, token, Method::POST, path, Some(body), 202).await;
    r.job_id.to_string()
}

async fn asset(app: &TestApp, token: &str, id: &str) -> AssetOut {
    ok_as(
        app,
        token,
        Method::GET,
        &format!("/api/v1/assets/{id}"),
        None,
        200,
    )
    .await
}

async fn test_asset(app: &TestApp, token: &str, id: &str) -> AssetOut {
    ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/assets/{id}/test"),
        None,
        200,
    )
    .await
}

/// The fingerprints in `user`'s `authorized_keys` (none when the file is missing).
pub(super) async fn fingerprints(host: &SshHost, user: &str) -> Vec<String> {
    let out = host
        .run_inside(&["cat", &format!("/home/{user}/.ssh/authorized_keys")])
        .await
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(public_key_fingerprint)
        .collect()
}

#[tokio::test]
async fn devices_switch_to_the_system_key_survive_a_regeneration_and_conflicts_are_resolved() {
    let logs = LogCapture::install();
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let mut hosts = Vec::new();
    let mut assets = Vec::new();
    for i in 0..3 {
        let host = SshHost::start(&[TestUser::new("ops", OPS_PASSWORD).with_sudo()])
            .await
            .unwrap();
        let id = linux_asset(&app, &token, &format!("device{i}"), &host).await;
        account(
            &app,
            &token,
            &id,
            "ops",
            OPS_PASSWORD,
            true,
            json!({"become": "sudo"}),
        )
        .await;
        hosts.push(host);
        assets.push(id);
    }
    let key = system_key(&app, &token).await;
    assert_eq!(key.algorithm, "ed25519", "{key:?}");
    let first_fp = key.fingerprint.clone();
    assert_eq!(
        public_key_fingerprint(&key.public_key),
        Some(first_fp.clone())
    );

    // Bad requests say why.
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{}/authentication", assets[0]),
        Some(json!({"mode": "system_key", "admin_user": "bad name"})),
    )
    .await;
    assert_eq!(
        (status, error_field(&body).as_deref()),
        (400, Some("admin_user")),
        "{body}"
    );
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/system/ssh-key/regenerate",
        Some(json!({"algorithm": "dss"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        typed::<ErrorAnswer>(body.clone())
            .error
            .message
            .contains("DSS"),
        "{body}"
    );

    // Three devices move to the system key, the admin user created through ops.
    for id in &assets {
        let job = started(
            &app,
            &token,
            &format!("/api/v1/assets/{id}/authentication"),
            json!({"mode": "system_key", "admin_user": "tumbler", "create_user": true}),
        )
        .await;
        let job: JobView = typed(wait_for_job(&app, &token, &job).await);
        assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
        let a = asset(&app, &token, id).await;
        assert_eq!(a.auth_status, "key_based", "{a:?}");
        assert_eq!(a.auth_username, "tumbler");
    }
    for host in &hosts {
        assert_eq!(fingerprints(host, "tumbler").await, vec![first_fp.clone()]);
    }

    // One device is down while the key is regenerated.
    hosts[2].kill();
    let job = started(
        &app,
        &token,
        "/api/v1/system/ssh-key/regenerate",
        json!({"algorithm": "ecdsa", "bits": 256}),
    )
    .await;
    let job: JobView = typed(wait_for_job(&app, &token, &job).await);
    assert_eq!(job.status, JobStatus::Partial, "{job:?}");
    let outcomes = &job.outcomes;
    assert_eq!(outcomes.len(), 3, "{job:?}");
    let down = outcomes
        .iter()
        .find(|o| o.asset_id.as_str() == assets[2].as_str())
        .unwrap();
    assert_eq!(down.status, OutcomeStatus::Unreachable, "{job:?}");
    let key = system_key(&app, &token).await;
    let new_fp = key.fingerprint.clone();
    assert_ne!(new_fp, first_fp);
    assert_eq!(key.algorithm, "ecdsa-p256");
    assert!(key.regeneration_job.is_none(), "{key:?}");
    // The running devices have only the new key and log in with it.
    for (host, id) in hosts.iter().zip(&assets).take(2) {
        assert_eq!(fingerprints(host, "tumbler").await, vec![new_fp.clone()]);
        let a = test_asset(&app, &token, id).await;
        assert_eq!(a.connectivity, "ok", "{a:?}");
        assert_eq!(a.auth_status, "key_based", "{a:?}");
    }

    // The third comes back with only the old key: the next contact finds the conflict.
    hosts[2].start_again().await.unwrap();
    assert_eq!(
        fingerprints(&hosts[2], "tumbler").await,
        vec![first_fp.clone()]
    );
    let a = test_asset(&app, &token, &assets[2]).await;
    assert_eq!(a.auth_status, "key_conflict", "{a:?}");
    let listed: Page<AssetOut> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/assets?auth_status=key_conflict",
        None,
        200,
    )
    .await;
    let ids: Vec<&str> = listed.items.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, vec![assets[2].as_str()]);

    // Resolved with the system key and an admin user that does not exist yet (created
    // through the privileged account, with the password typed here).
    let job = started(
        &app,
        &token,
        "/api/v1/key-conflicts/resolve",
        json!({"mode": "system_key", "devices": [{"asset_id": assets[2], "admin_user": "netadmin",
               "admin_password": ADMIN_PASSWORD_TYPED, "create_user": true}]}),
    )
    .await;
    let job: JobView = typed(wait_for_job(&app, &token, &job).await);
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    let a = test_asset(&app, &token, &assets[2]).await;
    assert_eq!(
        (a.auth_status.as_str(), a.auth_username.as_str()),
        ("key_based", "netadmin"),
        "{a:?}"
    );
    assert_eq!(
        fingerprints(&hosts[2], "netadmin").await,
        vec![new_fp.clone()]
    );
    assert!(super::change_secret::ssh_logs_in(&hosts[2], "netadmin", ADMIN_PASSWORD_TYPED).await);

    // Another conflict, resolved with an uploaded key that has a passphrase.
    hosts[0]
        .run_inside_ok(&["sh", "-c", ": > /home/tumbler/.ssh/authorized_keys"])
        .await
        .unwrap();
    let a = test_asset(&app, &token, &assets[0]).await;
    assert_eq!(a.auth_status, "key_conflict", "{a:?}");
    let custom = generate_key_pair(KeyAlgorithm::Ed25519, "custom").unwrap();
    hosts[0]
        .authorize_key("ops", &public_key_line(&custom).unwrap())
        .await
        .unwrap();
    let encrypted =
        encrypt_private_key(&custom, &SecretString::from(PASSPHRASE.to_owned())).unwrap();
    // A wrong passphrase is refused before anything starts.
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/key-conflicts/resolve",
        Some(
            json!({"mode": "custom_key", "private_key": encrypted, "passphrase": "wrong",
                    "devices": [{"asset_id": assets[0], "admin_user": "ops"}]}),
        ),
    )
    .await;
    assert_eq!(
        (status, error_field(&body).as_deref()),
        (400, Some("private_key")),
        "{body}"
    );
    let job = started(
        &app,
        &token,
        "/api/v1/key-conflicts/resolve",
        json!({"mode": "custom_key", "private_key": encrypted, "passphrase": PASSPHRASE,
               "devices": [{"asset_id": assets[0], "admin_user": "ops"},
                           {"asset_id": assets[1], "admin_user": "ops"}]}),
    )
    .await;
    let job: JobView = typed(wait_for_job(&app, &token, &job).await);
    let by = |id: &str| {
        job.outcomes
            .iter()
            .find(|o| o.asset_id.as_str() == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by(&assets[0]).status, OutcomeStatus::Succeeded, "{job:?}");
    assert_eq!(
        by(&assets[1]).status,
        OutcomeStatus::Skipped,
        "not in conflict: {job:?}"
    );
    let a = test_asset(&app, &token, &assets[0]).await;
    assert_eq!(a.auth_status, "key_based_custom", "{a:?}");
    assert_eq!(a.connectivity, "ok", "{a:?}");

    // Back to the stored password: it is checked first, then the device switches.
    let job = started(
        &app,
        &token,
        &format!("/api/v1/assets/{}/authentication", assets[1]),
        json!({"mode": "password"}),
    )
    .await;
    let job: JobView = typed(wait_for_job(&app, &token, &job).await);
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    let a = asset(&app, &token, &assets[1]).await;
    assert_eq!(
        (a.auth_status.as_str(), a.auth_username.as_str()),
        ("password_based", ""),
        "{a:?}"
    );

    // The typed admin password, the passphrase and private keys appear nowhere.
    let audit = audit_text(&app, &token).await;
    assert!(
        audit.contains("resolve_key_conflict.device"),
        "outcomes audited"
    );
    let logged = logs.contents();
    for place in [
        logged.as_str(),
        &audit,
        &hosts[2].command_log(),
        &hosts[2].auth_log(),
    ] {
        assert!(
            !place.contains(ADMIN_PASSWORD_TYPED),
            "the admin password leaked"
        );
        assert!(!place.contains(PASSPHRASE), "the passphrase leaked");
        assert!(!place.contains("PRIVATE KEY"), "a private key leaked");
        assert!(!place.contains(OPS_PASSWORD), "the ops password leaked");
    }
    let _ = custom.expose_secret();
}

#[tokio::test]
async fn the_system_key_exports_only_with_a_fresh_code_and_opens_with_its_passphrase() {
    use super::support::Authenticator;
    use std::sync::Arc;
    use tumbler_connectors::ssh::check_private_key_with;
    use tumbler_domain::ManualClock;
    use tumbler_testkit::app::StoreKind;

    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let token = admin(&app).await;
    let body = json!({"passphrase": PASSPHRASE});
    let (status, out) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/system/ssh-key/export",
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        (status, error_code(&out).as_str()),
        (403, "mfa_not_enrolled"),
        "{out}"
    );
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;
    let (status, out) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/system/ssh-key/export",
        Some(body),
    )
    .await;
    assert_eq!(
        (status, error_code(&out).as_str()),
        (401, "totp_required"),
        "{out}"
    );
    let short = json!({"passphrase": "short", "totp": authenticator.fresh_code()});
    let (status, out) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/system/ssh-key/export",
        Some(short),
    )
    .await;
    assert_eq!(
        (status, error_field(&out).as_deref()),
        (400, Some("passphrase")),
        "{out}"
    );
    let good = json!({"passphrase": PASSPHRASE, "totp": authenticator.fresh_code()});
    let out: ExportedKey = ok_as(
        &app,
        &token,
        Method::POST,
        "/api/v1/system/ssh-key/export",
        Some(good),
        200,
    )
    .await;
    let exported = SecretString::from(out.private_key);
    assert!(exported
        .expose_secret()
        .contains("BEGIN OPENSSH PRIVATE KEY"));
    assert!(
        check_private_key_with(&exported, None).is_err(),
        "encrypted"
    );
    check_private_key_with(&exported, Some(&SecretString::from(PASSPHRASE.to_owned()))).unwrap();
    let key = system_key(&app, &token).await;
    let audit = audit_text(&app, &token).await;
    assert!(audit.contains("system_key.export"), "audited");
    assert!(!audit.contains(PASSPHRASE));
    assert!(key.fingerprint.starts_with("SHA256:"));
}
