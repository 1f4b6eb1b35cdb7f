//! Spawning Tumbler in-process on port 0, on a fresh SQLite file or a fresh PostgreSQL
//! database, with an HTTP client and the initial administrator's password.

use crate::postgres_store::PgStoreDb;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use std::sync::Arc;
use tempfile::TempDir;
use tumbler_core::MasterKeySource;
use tumbler_domain::{Clock, SystemClock};
use tumbler_server::config::Config;
use tumbler_server::{open_services, RunningServer, Services};

/// The store a test app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// A fresh SQLite file in the app's data directory.
    Sqlite,
    /// A fresh, uniquely named database on the machine's PostgreSQL.
    Postgres,
}

/// A password that meets the default policy, for tests that change the admin's password.
pub const ADMIN_PASSWORD: &str = "Correct-Horse-Battery-Staple-42";

/// A running Tumbler for one test.
pub struct TestApp {
    /// The server.
    pub server: RunningServer,
    /// Its services, opened beside it on the same store (for setting up state directly).
    pub services: Services,
    /// The configuration it runs with.
    pub config: Config,
    /// Data directory (SQLite file, master key); removed when the app drops.
    pub data_dir: TempDir,
    /// The PostgreSQL database, when running on PostgreSQL.
    pub pg: Option<PgStoreDb>,
    /// The initial administrator's one-time password.
    pub initial_admin_password: String,
    /// A cookie-keeping HTTP client.
    pub client: reqwest::Client,
}

impl TestApp {
    /// Starts on a fresh SQLite store with the system clock.
    pub async fn spawn() -> Self {
        Self::spawn_on(StoreKind::Sqlite, Arc::new(SystemClock)).await
    }

    /// Starts on the given store kind with the given clock.
    pub async fn spawn_on(kind: StoreKind, clock: Arc<dyn Clock>) -> Self {
        Self::spawn_configured(kind, clock, |_| {}).await
    }

    /// Starts on the given store kind with the given clock, after `configure` adjusted the
    /// configuration (data directory, listen address and store are set already).
    pub async fn spawn_configured(
        kind: StoreKind,
        clock: Arc<dyn Clock>,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        let data_dir = tempfile::tempdir().expect("temp data dir");
        let pg = match kind {
            StoreKind::Sqlite => None,
            StoreKind::Postgres => Some(PgStoreDb::create().await),
        };
        let mut config = Config {
            data_dir: data_dir.path().join("data"),
            listen: "127.0.0.1:0".parse().expect("addr"),
            ..Config::default()
        };
        config.database.url = pg
            .as_ref()
            .map(|db| db.url().parse().expect("the test database URL"));
        // No periodic drift logins behind a test's back: drift tests run a pass themselves.
        config.drift.interval_seconds = 0;
        configure(&mut config);
        let master = MasterKeySource::File {
            path: config.master_key_file(),
            create: true,
        };
        let server = tumbler_server::start(&config, &master, clock.clone())
            .await
            .expect("server starts");
        let initial_admin_password = server
            .initial_admin_password
            .as_ref()
            .map(|p| p.expose_secret().to_owned())
            .expect("first start creates admin");
        let services = open_services(&config, &master, clock, false)
            .await
            .expect("services open");
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client");
        // Ready once the recovery at start is done (quick on a new store): tests begin then.
        // A TLS server's certificate is one this client does not trust; its tests use their
        // own clients (with the test CA) and start on a new store, where recovery is instant.
        let ready = format!("{}/readyz", server.url());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while ready.starts_with("http://") {
            let status = client.get(&ready).send().await.map(|r| r.status().as_u16());
            if status.as_ref().ok() == Some(&200) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server never became ready: {status:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Self {
            server,
            services,
            config,
            data_dir,
            pg,
            initial_admin_password,
            client,
        }
    }

    /// Absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    /// The text of an unauthenticated `GET` (for example `/metrics`); panics on a transport error.
    pub async fn get_text(&self, path: &str) -> String {
        let res = self.client.get(self.url(path)).send().await;
        let res = res.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        res.text()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// Changes the admin's one-time password to [`ADMIN_PASSWORD`] over REST (Basic auth).
    pub async fn activate_admin(&self) {
        let res = reqwest::Client::new()
            .post(self.url("/api/v1/users/me/password"))
            .basic_auth("admin", Some(&self.initial_admin_password))
            .json(&json!({"old_password": self.initial_admin_password, "new_password": ADMIN_PASSWORD}))
            .send()
            .await
            .expect("request");
        assert_eq!(
            res.status(),
            204,
            "admin password change: {}",
            res.text().await.unwrap_or_default()
        );
    }

    /// An API token for the (activated) admin.
    pub async fn admin_token(&self) -> String {
        let res: Value = reqwest::Client::new()
            .post(self.url("/api/v1/users/me/tokens"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&json!({"name": "test"}))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        res["token"].as_str().expect("token in answer").to_owned()
    }

    /// Stops the server and removes its PostgreSQL database, if any.
    pub async fn stop(self) {
        self.server.shutdown();
        self.services.store.close().await;
        self.server.wait().await.expect("clean shutdown");
        if let Some(pg) = self.pg {
            pg.drop_db().await;
        }
    }
}
