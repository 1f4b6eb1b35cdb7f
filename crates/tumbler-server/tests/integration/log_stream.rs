//! The execution log stream outlives its request: it checks its caller again while it runs
//! (logout, a disabled user or a revoked token end it) and a user holds only a few at once.

use super::support::{call, error_code, ok_as, typed, user, USER_PASSWORD};
use chrono::Utc;
use reqwest::{Client, Method, Response};
use serde_json::json;
use std::time::Duration;
use tumbler_api_types::auth::LoginResponse;
use tumbler_api_types::domains::DomainOut;
use tumbler_api_types::users::UserOut;
use tumbler_api_types::Page;
use tumbler_domain::change_secret::{ExecutionStatus, Trigger};
use tumbler_domain::ids::{ChangeTaskId, DomainId, ExecutionId};
use tumbler_store::ExecutionRow;
use tumbler_testkit::app::TestApp;

/// An execution of the Default domain that runs (on another, live node) for the whole test.
async fn running_execution(app: &TestApp, admin: &str) -> String {
    let domains: Page<DomainOut> =
        ok_as(app, admin, Method::GET, "/api/v1/domains", None, 200).await;
    let default = domains
        .items
        .into_iter()
        .find(|d| d.name == "Default")
        .expect("the Default domain")
        .id;
    let now = Utc::now();
    let exec = ExecutionRow {
        id: ExecutionId::generate(),
        task_id: ChangeTaskId::generate(),
        task_name: "long".to_owned(),
        domain_id: DomainId::from_string(default),
        trigger: Trigger::Manual,
        status: ExecutionStatus::Running,
        owner_node: "another-node".to_owned(),
        heartbeat_at: now,
        created_by: "admin".to_owned(),
        created_at: now,
        started_at: Some(now),
        finished_at: None,
    };
    let mut tx = app.services.store.begin().await.unwrap();
    tx.insert_execution(&exec).await.unwrap();
    tx.commit().await.unwrap();
    exec.id.to_string()
}

fn log_url(app: &TestApp, id: &str) -> String {
    app.url(&format!("/api/v1/change-secret/executions/{id}/log"))
}

/// Whether the streamed answer ends within `within` (read until the end or the deadline).
async fn ends_within(res: &mut Response, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, res.chunk()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) | Ok(Err(_)) => return true,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn the_log_stream_ends_at_logout_and_when_the_user_is_disabled() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let admin = app.admin_token().await;
    let olga_token = user(&app, &admin, "olga", &["admin"], &["Default"]).await;
    let exec = running_execution(&app, &admin).await;

    // The admin's own stream is the control: it stays open.
    let mut control = Client::new()
        .get(log_url(&app, &exec))
        .bearer_auth(&admin)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(control.status(), 200);

    // A console session's stream ends when the session does.
    let session = Client::builder().cookie_store(true).build().unwrap();
    let login: LoginResponse = typed(
        session
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "olga", "password": USER_PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
    );
    let mut by_session = session
        .get(log_url(&app, &exec))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(by_session.status(), 200);
    let mut by_token = Client::new()
        .get(log_url(&app, &exec))
        .bearer_auth(&olga_token)
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), 200);
    let res = session
        .post(app.url("/api/v1/auth/logout"))
        .header("x-csrf-token", &login.csrf_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(
        ends_within(&mut by_session, Duration::from_secs(30)).await,
        "the stream ended with the session"
    );

    // A token's stream ends when its user is disabled.
    let users: Page<UserOut> = ok_as(&app, &admin, Method::GET, "/api/v1/users", None, 200).await;
    let olga = users
        .items
        .into_iter()
        .find(|u| u.user.username == "olga")
        .expect("olga is listed")
        .user
        .id;
    let (status, body) = call(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/users/{olga}"),
        Some(json!({"status": "disabled"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        ends_within(&mut by_token, Duration::from_secs(30)).await,
        "the stream ended with the user"
    );
    assert!(
        !ends_within(&mut control, Duration::from_millis(200)).await,
        "the admin's stream goes on"
    );
    drop(control);
    app.stop().await;
}

#[tokio::test]
async fn a_user_holds_only_a_few_log_streams_at_once() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let admin = app.admin_token().await;
    let exec = running_execution(&app, &admin).await;
    let stream = || {
        Client::new()
            .get(log_url(&app, &exec))
            .bearer_auth(&admin)
            .send()
    };
    let mut open = Vec::new();
    for _ in 0..tumbler_server::streams::MAX_STREAMS_PER_USER {
        let res = stream().await.unwrap();
        assert_eq!(res.status(), 200);
        open.push(res);
    }
    let res = stream().await.unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(error_code(&res.json().await.unwrap()), "too_many_streams");
    drop(open);
    app.stop().await;
}
