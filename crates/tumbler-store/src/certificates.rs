//! Client certificates users registered for certificate-based login (public data only).

use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use tumbler_domain::clock::{from_millis, to_millis};
use tumbler_domain::ids::{CertificateId, UserId};

/// A registered certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRow {
    /// Id.
    pub id: CertificateId,
    /// Owner.
    pub user_id: UserId,
    /// SHA-256 of the DER, hex: what a presented certificate is matched by.
    pub fingerprint: String,
    /// Subject distinguished name.
    pub subject: String,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// The certificate, PEM.
    pub pem: String,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

fn from_row(row: &AnyRow) -> Result<CertificateRow, StoreError> {
    Ok(CertificateRow {
        id: CertificateId::from_string(col::<String>(row, "id")?),
        user_id: UserId::from_string(col::<String>(row, "user_id")?),
        fingerprint: col(row, "fingerprint")?,
        subject: col(row, "subject")?,
        not_after: from_millis(col(row, "not_after")?),
        pem: col(row, "pem")?,
        created_at: from_millis(col(row, "created_at")?),
    })
}

const COLUMNS: &str = "id, user_id, fingerprint, subject, not_after, pem, created_at";

impl Store {
    /// A user's certificates.
    pub async fn certificates_of(
        &self,
        user_id: &UserId,
    ) -> Result<Vec<CertificateRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM user_certificates WHERE user_id = $1 ORDER BY created_at"
        );
        self.find_all(&sql, user_id.as_str(), from_row).await
    }

    /// The certificate with this fingerprint.
    pub async fn certificate_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> Result<Option<CertificateRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM user_certificates WHERE fingerprint = $1");
        self.find_one(&sql, fingerprint, from_row).await
    }
}

impl Tx {
    /// Registers a certificate; one already registered (by anyone) is [`StoreError::Duplicate`].
    pub async fn insert_certificate(&mut self, c: &CertificateRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO user_certificates ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        );
        sqlx::query(&sql)
            .bind(c.id.as_str())
            .bind(c.user_id.as_str())
            .bind(&c.fingerprint)
            .bind(&c.subject)
            .bind(to_millis(c.not_after))
            .bind(&c.pem)
            .bind(to_millis(c.created_at))
            .execute(self.conn())
            .await
            .map_err(StoreError::unique(
                tumbler_domain::object::ObjectKind::Certificate,
            ))?;
        Ok(())
    }

    /// Removes one of a user's certificates; returns whether it existed.
    pub async fn delete_certificate(
        &mut self,
        user_id: &UserId,
        id: &CertificateId,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM user_certificates WHERE id = $1 AND user_id = $2")
            .bind(id.as_str())
            .bind(user_id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes every certificate of a user (a password change or reset); returns how many.
    pub async fn delete_user_certificates(&mut self, user_id: &UserId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM user_certificates WHERE user_id = $1")
            .bind(user_id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected())
    }
}
