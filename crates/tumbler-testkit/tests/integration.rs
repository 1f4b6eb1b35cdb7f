#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Proves each piece of the testkit works against the real thing.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sqlx::{Connection, MySqlConnection, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tumbler_testkit::browser::Browser;
use tumbler_testkit::mariadb::{self, MariaDbScratch};
use tumbler_testkit::pg_cluster::PgCluster;
use tumbler_testkit::postgres_store::PgStoreDb;
use tumbler_testkit::smtp::SmtpSink;

const WITHIN: Duration = Duration::from_secs(15);

#[tokio::test]
async fn private_cluster_checks_passwords_and_logs_statements() {
    let cluster = PgCluster::start().await;
    cluster.create_role("alice", "right horse battery").await;

    let refused = PgConnection::connect(&cluster.url_for("alice", "wrong horse battery")).await;
    let err = refused.expect_err("a wrong password must be refused");
    assert!(
        err.to_string().contains("password authentication failed"),
        "unexpected error: {err}"
    );

    let mut conn = PgConnection::connect(&cluster.url_for("alice", "right horse battery"))
        .await
        .expect("the right password must be accepted");
    let user: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(user, "alice");

    let marker = format!("testkit-canary-{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(&format!("SELECT '{marker}'"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let log = cluster.log_contents();
    assert!(
        log.contains(&format!("statement: SELECT '{marker}'")),
        "statement log lacks the marker:\n{log}"
    );
    assert!(
        !log.contains("right horse battery"),
        "create_role's password leaked into the statement log"
    );

    cluster.exec("CREATE TABLE kit_probe (id int)").await;
    assert!(cluster.log_contents().contains("CREATE TABLE kit_probe"));

    let (port, data_dir) = (cluster.port(), cluster.data_dir());
    drop(cluster);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the cluster must be stopped on Drop"
    );
    assert!(
        !data_dir.exists(),
        "the cluster's directory must be removed"
    );
}

#[tokio::test]
async fn store_database_exists_until_dropped() {
    let db = PgStoreDb::create().await;
    let name = db.name().to_owned();
    assert!(PgStoreDb::exists(&name).await, "{name} should exist");

    let mut conn = PgConnection::connect(&db.url()).await.unwrap();
    let current: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(current, name);
    // An open connection must not stop the drop.
    db.drop_db().await;
    assert!(!PgStoreDb::exists(&name).await, "{name} should be gone");
    drop(conn);

    // The best-effort path: dropping the handle without drop_db().
    let db = PgStoreDb::create().await;
    let name = db.name().to_owned();
    assert!(PgStoreDb::exists(&name).await);
    drop(db);
    assert!(
        !PgStoreDb::exists(&name).await,
        "{name} should be gone after Drop"
    );
}

#[tokio::test]
async fn mariadb_scratch_user_needs_its_password() {
    let scratch = MariaDbScratch::create().await;

    let mut conn = MySqlConnection::connect(&scratch.url())
        .await
        .expect("the scratch user must log in with its password");
    let db: Option<String> = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(db.as_deref(), Some(scratch.database()));
    sqlx::raw_sql("CREATE TABLE t (id INT); INSERT INTO t VALUES (1);")
        .execute(&mut conn)
        .await
        .expect("the user owns its database");
    conn.close().await.unwrap();

    let wrong = mariadb::url_for(scratch.user(), "not-the-password", scratch.database());
    let err = MySqlConnection::connect(&wrong)
        .await
        .expect_err("another password must be refused");
    assert!(err.to_string().contains("Access denied"), "{err}");

    let user = scratch.user().to_owned();
    scratch.drop_all().await;
    let mut admin = mariadb::admin_connection().await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mysql.user WHERE user = ?")
        .bind(&user)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(left, 0, "user {user} should be dropped");
    let dbs: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?",
    )
    .bind(&user)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(dbs, 0, "database {user} should be dropped");
}

#[tokio::test]
async fn smtp_sink_receives_mail_sent_over_smtp() {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

    let sink = SmtpSink::start().await;
    let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(sink.host())
        .port(sink.port())
        .build();
    let message = Message::builder()
        .from("Tumbler <tumbler@example.test>".parse().unwrap())
        .to("ops@example.test".parse().unwrap())
        .subject("Password changed: été")
        .body(String::from("Account root on host-1 was rotated."))
        .unwrap();
    mailer.send(message).await.expect("the sink accepts mail");

    let mails = sink.wait_for_messages(1, WITHIN).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.subject, "Password changed: été");
    assert_eq!(mail.from, "tumbler@example.test");
    assert_eq!(mail.to, ["ops@example.test"]);
    assert!(
        mail.body.contains("Account root on host-1 was rotated."),
        "{:?}",
        mail.body
    );

    let port = sink.port();
    drop(sink);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the sink must be stopped on Drop"
    );
}

/// Removes a directory when dropped, even if the test fails.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Set in the copy of this test binary that the test below starts.
const CHILD_ENV: &str = "TUMBLER_TESTKIT_DIE_WITH_TEST_CHILD";

/// A server started by a test process that is killed (SIGKILL, so no
/// destructor runs) must not outlive it. The test runs this binary again as
/// that process: the copy starts an SMTP sink, prints its port and blocks.
#[tokio::test]
async fn servers_die_with_a_killed_test_process() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let sink = SmtpSink::start().await;
        println!("DIR={}", sink.dir().display());
        println!("PORT={}", sink.port());
        std::io::stdout().flush().unwrap();
        // Blocks until the parent kills this process.
        let _ = std::io::stdin().read_line(&mut String::new());
        return;
    }

    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "servers_die_with_a_killed_test_process",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut dir = None;
    let port: u16 = loop {
        let line = lines
            .next()
            .expect("the child test process printed no port")
            .unwrap();
        if let Some(path) = line.strip_prefix("DIR=") {
            dir = Some(std::path::PathBuf::from(path));
        }
        if let Some(port) = line.strip_prefix("PORT=") {
            break port.parse().unwrap();
        }
    };
    // A killed process runs no destructor: remove its directory for it.
    let dir = dir.expect("the child test process printed no directory");
    let _cleanup = RemoveOnDrop(dir);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "the child's sink should be listening"
    );

    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + WITHIN;
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the sink on port {port} outlived its killed test process"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Serves one fixed HTML page to every request, on a free loopback port.
async fn serve_page(html: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    format!("http://{addr}/")
}

#[tokio::test]
async fn browser_reads_and_drives_a_local_page() {
    let url = serve_page(
        "<!doctype html><title>kit</title>\
         <h1 id=\"greeting\">Hello from the testkit</h1>\
         <input id=\"name\">\
         <button id=\"go\" onclick=\"document.getElementById('out').textContent = \
         'Hi ' + document.getElementById('name').value\">Go</button>\
         <p id=\"out\"></p>",
    )
    .await;
    let browser = Browser::start().await;
    browser.goto(&url).await;
    assert_eq!(browser.current_url().await, url);
    assert_eq!(browser.text("#greeting").await, "Hello from the testkit");

    browser.fill("#name", "Ada").await;
    browser.click("#go").await;
    let out = browser.wait_for_text("#out", "Hi Ada", WITHIN).await;
    assert_eq!(out, "Hi Ada");

    let port = browser.driver_port();
    browser.close().await;
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "chromedriver must be stopped"
    );
}
