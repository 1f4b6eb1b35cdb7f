//! List benchmark: the time of a filtered page of accounts and assets on a SQLite store
//! holding many accounts (100 per asset). Goal: a filtered page well under 100 ms at
//! 100,000 accounts. It prints figures and asserts nothing.
//!
//! CI runs a smoke size with the dev profile:
//! `INVENTORY_BENCH_ACCOUNTS=2000 cargo test -p tumbler-store --bench inventory_list`.
//! The full run: `cargo bench -p tumbler-store --bench inventory_list` (default 100,000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tumbler_domain::ids::{AccountId, AssetId, DomainId};
use tumbler_domain::inventory::{
    AccountStatus, AuthStatus, Connectivity, HostKeyStatus, SecretType,
};
use tumbler_store::{
    AccountFilter, AccountRow, AssetFilter, AssetRow, DomainRow, HostKeyState, Store,
};

const ACCOUNTS_PER_ASSET: usize = 100;

async fn fill(store: &Store, accounts: usize) -> (DomainId, DomainId) {
    let now = Utc::now();
    let mut domains = Vec::new();
    let mut tx = store.begin().await.unwrap();
    for name in ["Prod", "Other"] {
        let d = DomainRow {
            id: DomainId::generate(),
            name: name.to_owned(),
            description: String::new(),
            created_at: now,
        };
        tx.insert_domain(&d).await.unwrap();
        domains.push(d.id);
    }
    let assets = accounts.div_ceil(ACCOUNTS_PER_ASSET);
    for a in 0..assets {
        let asset = AssetRow {
            id: AssetId::generate(),
            name: format!("host-{a:06}"),
            address: format!("10.{}.{}.{}", a / 65536 % 256, a / 256 % 256, a % 256),
            port: 22,
            platform: if a % 3 == 0 { "postgresql" } else { "linux" }.to_owned(),
            // Nine in ten assets in the domain the caller sees.
            domain_id: domains[usize::from(a % 10 == 9)].clone(),
            comment: String::new(),
            connectivity: Connectivity::Unknown,
            connectivity_error: String::new(),
            connectivity_at: None,
            host_key: HostKeyState {
                fingerprint: None,
                presented: None,
                status: HostKeyStatus::Unverified,
            },
            auth_status: AuthStatus::PasswordBased,
            auth_username: String::new(),
            security: Default::default(),
            reconcile_account_id: None,
            created_at: now,
            updated_at: now,
        };
        tx.insert_asset(&asset).await.unwrap();
        for u in 0..ACCOUNTS_PER_ASSET.min(accounts - a * ACCOUNTS_PER_ASSET) {
            let account = AccountRow {
                id: AccountId::generate(),
                asset_id: asset.id.clone(),
                asset_name: asset.name.clone(),
                domain_id: asset.domain_id.clone(),
                username: format!("svc-{u:03}"),
                secret_type: SecretType::Password,
                privileged: u == 0,
                options: BTreeMap::new(),
                current_version: 1,
                previous_version: None,
                pending_version: None,
                next_version: 2,
                status: if u % 50 == 7 {
                    AccountStatus::Failed
                } else {
                    AccountStatus::Ok
                },
                status_reason: String::new(),
                last_verified_at: None,
                last_changed_at: None,
                created_at: now,
                updated_at: now,
            };
            tx.insert_account(&account).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
    (domains[0].clone(), domains[1].clone())
}

async fn median<F, Fut>(runs: usize, mut f: F) -> (Duration, i64)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = i64>,
{
    let mut times = Vec::new();
    let mut total = 0;
    for _ in 0..runs {
        let started = Instant::now();
        total = f().await;
        times.push(started.elapsed());
    }
    times.sort();
    (times[times.len() / 2], total)
}

#[tokio::main]
async fn main() {
    let accounts: usize = std::env::var("INVENTORY_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let started = Instant::now();
    let (prod, _other) = fill(&store, accounts).await;
    println!(
        "inventory_list: {accounts} accounts on {} assets stored in {:?}",
        accounts.div_ceil(ACCOUNTS_PER_ASSET),
        started.elapsed()
    );
    let page = |f: AccountFilter| {
        let store = store.clone();
        async move { store.accounts(&f).await.unwrap().1 }
    };
    let base = AccountFilter {
        domains: vec![prod.clone()],
        limit: 50,
        ..AccountFilter::default()
    };
    let cases: Vec<(&str, AccountFilter)> = vec![
        ("accounts, first page, one domain", base.clone()),
        (
            "accounts, username = svc-042",
            AccountFilter {
                username: Some("svc-042".into()),
                ..base.clone()
            },
        ),
        (
            "accounts, status = failed",
            AccountFilter {
                status: Some(AccountStatus::Failed),
                ..base.clone()
            },
        ),
        (
            "accounts, search 'host-00001'",
            AccountFilter {
                search: Some("host-00001".into()),
                ..base.clone()
            },
        ),
        (
            "accounts, deep page (offset 80% in)",
            AccountFilter {
                offset: i64::try_from(accounts * 8 / 10).unwrap(),
                ..base.clone()
            },
        ),
    ];
    for (name, filter) in cases {
        let (time, total) = median(5, || page(filter.clone())).await;
        println!("inventory_list: {name:<40} {time:>12?}  ({total} match)");
    }
    let (time, total) = median(5, || {
        let store = store.clone();
        let f = AssetFilter {
            domains: vec![prod.clone()],
            platform: Some("postgresql".into()),
            limit: 50,
            ..AssetFilter::default()
        };
        async move { store.assets(&f).await.unwrap().1 }
    })
    .await;
    println!(
        "inventory_list: {:<40} {time:>12?}  ({total} match)",
        "assets, platform = postgresql"
    );
}
