//! Host keys: a connection that read an asset before it moved cannot write the old place's
//! key over the move (compare-and-set on the row it read).

use super::t0;
use tumbler_domain::ids::{AssetId, DomainId};
use tumbler_domain::inventory::{AuthStatus, Connectivity, HostKeyStatus};
use tumbler_store::{AssetRow, DomainRow, HostKeyState, Store};

/// A connection reads an asset, someone moves it (`relocated`), then the connection records
/// the key it saw: the compare-and-set write leaves the move in place.
pub async fn a_stale_host_key_write_does_not_undo_a_move(store: &Store) {
    let domain = DomainRow {
        id: DomainId::generate(),
        name: "cas".to_owned(),
        description: String::new(),
        created_at: t0(),
    };
    let read = AssetRow {
        id: AssetId::generate(),
        name: "web".to_owned(),
        address: "10.0.0.1".to_owned(),
        port: 22,
        platform: "linux".to_owned(),
        domain_id: domain.id.clone(),
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
        security: tumbler_store::AssetSecurity::default(),
        reconcile_account_id: None,
        created_at: t0(),
        updated_at: t0(),
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_domain(&domain).await.unwrap();
    tx.insert_asset(&read).await.unwrap();
    tx.commit().await.unwrap();
    let seen = HostKeyState {
        fingerprint: Some("SHA256:old-place".to_owned()),
        presented: None,
        status: HostKeyStatus::Unverified,
    };
    // Unchanged since it was read: written.
    let mut tx = store.begin().await.unwrap();
    assert!(tx
        .set_asset_host_key_if_unchanged(&read, &seen)
        .await
        .unwrap());
    tx.commit().await.unwrap();
    let pinned = store.asset(&read.id).await.unwrap().unwrap();
    assert_eq!(pinned.host_key, seen);
    // Moved meanwhile: the write of a connection that read the old row changes nothing.
    let moved = AssetRow {
        address: "10.0.0.2".to_owned(),
        host_key: HostKeyState {
            fingerprint: None,
            presented: None,
            status: HostKeyStatus::Relocated,
        },
        ..pinned.clone()
    };
    let mut tx = store.begin().await.unwrap();
    tx.update_asset(&moved).await.unwrap();
    tx.commit().await.unwrap();
    let stale = HostKeyState {
        fingerprint: Some("SHA256:old-place".to_owned()),
        presented: None,
        status: HostKeyStatus::Verified,
    };
    for stale_read in [&read, &pinned] {
        let mut tx = store.begin().await.unwrap();
        assert!(!tx
            .set_asset_host_key_if_unchanged(stale_read, &stale)
            .await
            .unwrap());
        tx.commit().await.unwrap();
    }
    // The key state alone changed (same place): still no stale write.
    let same_place = AssetRow {
        address: "10.0.0.1".to_owned(),
        ..moved.clone()
    };
    let mut tx = store.begin().await.unwrap();
    tx.update_asset(&same_place).await.unwrap();
    assert!(!tx
        .set_asset_host_key_if_unchanged(&pinned, &stale)
        .await
        .unwrap());
    tx.commit().await.unwrap();
    let now = store.asset(&read.id).await.unwrap().unwrap();
    assert_eq!(now.host_key.status, HostKeyStatus::Relocated);
    assert_eq!(now.host_key.fingerprint, None);
    // A connection that read the moved row records what it saw.
    let mut tx = store.begin().await.unwrap();
    let presented = HostKeyState {
        presented: Some("SHA256:new-place".to_owned()),
        ..now.host_key.clone()
    };
    assert!(tx
        .set_asset_host_key_if_unchanged(&now, &presented)
        .await
        .unwrap());
    tx.commit().await.unwrap();
    assert_eq!(
        store.asset(&read.id).await.unwrap().unwrap().host_key,
        presented
    );
}
