//! The world a model case runs in, and Tumbler "processes" in it.
//!
//! The world: a private Redis (the target) behind a [`LossyProxy`], and a Tumbler data
//! directory (SQLite, master key) set up over HTTP with an administrator holding TOTP, a Redis
//! asset (reached through the proxy), its ACL administrator and one account, and a task that
//! changes that account. A process: the real services opened on that data directory in a
//! tokio runtime of their own. Dropping the runtime ends every task of the process at once,
//! mid-change included: a crash. A new process on the same store is a restart.

use super::super::change_secret::{account, admin, task};
use super::super::lossy_proxy::LossyProxy;
use super::super::support::Authenticator;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tumbler_core::change_secret::{CrashHold, EngineSettings};
use tumbler_core::{ChangeSecretService, MasterKeySource, Principal, RequestOrigin};
use tumbler_domain::ids::{AccountId, ChangeTaskId, ExecutionId};
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::redis::{RedisServer, RedisUser};

/// The ACL administrator's password (never changed by the task).
pub const ADMIN_SECRET: &str = "canary-Model-Admin-5be";
/// The account's first password.
pub const FIRST_SECRET: &str = "canary-Model-First-9d1";
/// The account the task changes.
pub const USERNAME: &str = "cache_app";

/// The target, the data directory and who acts.
pub struct World {
    /// Runs Redis's proxy and the set-up server.
    pub rt: Runtime,
    app: Option<TestApp>,
    redis: RedisServer,
    /// Between Tumbler and Redis.
    pub proxy: LossyProxy,
    /// The administrator's API token.
    pub token: String,
    totp: Authenticator,
    /// The clock every process shares (TOTP steps, restarts).
    pub clock: Arc<ManualClock>,
    /// The changed account.
    pub account: AccountId,
    /// The task that changes it.
    pub task: ChangeTaskId,
}

impl World {
    /// Sets a world up (a fresh Redis, data directory and task).
    pub fn new() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("world runtime");
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let (app, redis, proxy, token, totp, account_id, task_id) = rt.block_on(async {
            let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
            let token = admin(&app).await;
            let totp = Authenticator::enrol(&app, &token, clock.clone()).await;
            let redis = RedisServer::start(&[
                RedisUser::new("acl_admin", ADMIN_SECRET).admin(),
                RedisUser::new(USERNAME, FIRST_SECRET),
            ])
            .await;
            let proxy = LossyProxy::start(redis.port()).await;
            let asset = super::super::change_secret::asset(
                &app,
                &token,
                json!({"name": "cache", "address": "127.0.0.1", "port": proxy.port(), "platform": "redis"}),
            )
            .await;
            account(&app, &token, &asset, "acl_admin", ADMIN_SECRET, true, json!({})).await;
            let id = account(&app, &token, &asset, USERNAME, FIRST_SECRET, false, json!({})).await;
            let task_id = task(
                &app,
                &token,
                json!({"name": "model", "usernames": [USERNAME], "asset_ids": [asset],
                       "secret_strategy": "random"}),
            )
            .await;
            // Only the model's processes run the engine from here on.
            app.server.shutdown();
            (
                app,
                redis,
                proxy,
                token,
                totp,
                AccountId::from_string(id),
                ChangeTaskId::from_string(task_id),
            )
        });
        Self {
            rt,
            app: Some(app),
            redis,
            proxy,
            token,
            totp,
            clock,
            account: account_id,
            task: task_id,
        }
    }

    /// The real Redis's port (not through the proxy): what the target really accepts.
    pub fn redis_port(&self) -> u16 {
        self.redis.port()
    }

    /// A fresh TOTP code (the shared clock moves one step on).
    pub fn fresh_code(&self) -> String {
        self.totp.fresh_code()
    }

    /// The set-up app's services on the same store (for reading it).
    pub fn services(&self) -> &tumbler_server::Services {
        &self.app().services
    }

    fn app(&self) -> &TestApp {
        self.app.as_ref().expect("the world is up")
    }

    /// Removes the data directory's store connections and the world.
    pub fn finish(mut self) {
        if let Some(app) = self.app.take() {
            self.rt.block_on(app.stop());
        }
    }
}

/// One Tumbler process on the world's data directory.
pub struct Process {
    rt: Option<Runtime>,
    services: tumbler_server::Services,
    /// The administrator, authenticated by the world's token.
    pub principal: Principal,
}

impl Process {
    /// Starts a process (no recovery yet: see [`Process::recover`]). The clock moves a second
    /// on first, so that this process's runs are newer than any a dead one left.
    pub fn start(world: &World) -> Self {
        world.clock.advance(chrono::Duration::seconds(1));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("process runtime");
        let config = world.app().config.clone();
        let clock = world.clock.clone();
        let (services, principal) = rt.block_on(async {
            let master = MasterKeySource::File {
                path: config.master_key_file(),
                create: false,
            };
            let services = tumbler_server::open_services(&config, &master, clock, false)
                .await
                .expect("services open");
            let principal = services
                .auth
                .authenticate_token(&world.token)
                .await
                .expect("token");
            (services, principal)
        });
        Self {
            rt: Some(rt),
            services,
            principal,
        }
    }

    /// Runs `f` on the process's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.as_ref().expect("process alive").block_on(f)
    }

    /// The engine with short limits, parked at `hold` if given.
    pub fn engine(&self, world: &World, hold: Option<&CrashHold>) -> ChangeSecretService {
        let settings = EngineSettings {
            node_name: "model".to_owned(),
            connect_timeout: Duration::from_secs(3),
            account_timeout: Duration::from_secs(8),
            max_attempts: 2,
            retry_backoff: Duration::from_millis(50),
            crash_hold: hold.cloned(),
            ..EngineSettings::default()
        };
        let s = &self.services;
        // Built inside the runtime: nothing of it may outlive the process.
        self.block_on(async {
            ChangeSecretService::new(
                s.store.clone(),
                s.vault.clone(),
                s.auth.clone(),
                s.mail.clone(),
                s.webhooks.clone(),
                world.clock.clone(),
                settings,
            )
        })
    }

    /// The store as this process sees it.
    pub fn store(&self) -> &tumbler_store::Store {
        &self.services.store
    }

    /// The inventory service (accounts, their verify).
    pub fn inventory(&self) -> &tumbler_core::InventoryService {
        &self.services.inventory
    }

    /// Recovery at start, as the server runs it; returns how many runs it settled.
    pub fn recover(&self, world: &World) -> usize {
        let engine = self.engine(world, None);
        self.block_on(engine.recover(true)).expect("recovery")
    }

    /// Starts a run of the world's task; returns its id at once.
    pub fn execute(&self, engine: &ChangeSecretService, world: &World) -> ExecutionId {
        self.block_on(engine.execute_task(&self.principal, &world.task, &origin()))
            .expect("execute")
    }

    /// Waits until the run ended or `hold` parked it; returns whether it ended.
    pub fn wait_run(&self, id: &ExecutionId, hold: Option<&CrashHold>) -> bool {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if hold.is_some_and(CrashHold::reached) {
                return false;
            }
            let row = self
                .block_on(self.store().execution(id))
                .expect("execution")
                .expect("execution row");
            if row.finished_at.is_some() {
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "the run neither ended nor parked"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until no run of the store is going (a retry may run in the background).
    pub fn wait_idle(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while !self
            .block_on(self.store().unfinished_executions())
            .expect("executions")
            .is_empty()
        {
            assert!(Instant::now() < deadline, "a run did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Spawns `work` on the process's runtime.
    pub fn spawn(
        &self,
        work: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        self.rt.as_ref().expect("process alive").spawn(work)
    }

    /// Waits until `hold` parked the engine (`true`) or `work` and every run ended (`false`).
    pub fn wait_parked_or(&self, hold: &CrashHold, work: &tokio::task::JoinHandle<()>) -> bool {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if hold.reached() {
                return true;
            }
            // A retry may go on as a run of its own after the request answered.
            if work.is_finished()
                && self
                    .block_on(self.store().unfinished_executions())
                    .expect("executions")
                    .is_empty()
            {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "the work neither ended nor parked"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ends the process now, whatever it is doing: a crash. Every task is dropped where it
    /// waits; a store write already handed to SQLite lands or not, atomically, as it would when
    /// a process dies, and is done when this returns (the store's connections are closed).
    pub fn crash(mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(10));
        }
        let closing = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("closing runtime");
        closing.block_on(self.services.store.close());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Where the model's requests come from.
pub fn origin() -> RequestOrigin {
    RequestOrigin {
        source: "change-model".to_owned(),
    }
}
