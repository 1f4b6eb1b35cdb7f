//! Console users.

use crate::{col, Store, StoreError, TotpState, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use tumbler_domain::clock::{from_millis, to_millis};
use tumbler_domain::ids::UserId;
use tumbler_domain::password_status::PasswordStatus;
use tumbler_domain::user::{User, UserKind, UserStatus};

/// A user as stored, with the fields only the auth service reads.
#[derive(Clone)]
pub struct UserRow {
    /// The user.
    pub user: User,
    /// PHC-format Argon2id hash; `None` for users without a local password.
    pub password_hash: Option<String>,
    /// Consecutive failed logins.
    pub failed_logins: i64,
    /// Locked out until this time.
    pub locked_until: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("user", &self.user)
            .field("failed_logins", &self.failed_logins)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

/// A user to insert.
pub struct NewUser<'a> {
    /// The user's fields.
    pub user: &'a User,
    /// The password hash, if local.
    pub password_hash: Option<&'a str>,
}

const COLUMNS: &str = "id, username, display_name, email, kind, status, roles, password_hash, \
     must_change_password, password_changed_at, temp_password_expires_at, failed_logins, locked_until, created_at, totp_state";

fn from_row(row: &AnyRow) -> Result<UserRow, StoreError> {
    let kind: String = col(row, "kind")?;
    let status: String = col(row, "status")?;
    let roles: String = col(row, "roles")?;
    let user = User {
        id: UserId::from_string(col::<String>(row, "id")?),
        username: col(row, "username")?,
        display_name: col(row, "display_name")?,
        email: col(row, "email")?,
        kind: UserKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("user kind {kind}")))?,
        status: UserStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("user status {status}")))?,
        roles: roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
        must_change_password: col::<i64>(row, "must_change_password")? != 0,
        password_changed_at: col::<Option<i64>>(row, "password_changed_at")?.map(from_millis),
        temp_password_expires_at: col::<Option<i64>>(row, "temp_password_expires_at")?
            .map(from_millis),
        created_at: from_millis(col(row, "created_at")?),
        mfa_enabled: TotpState::parse(&col::<String>(row, "totp_state")?)? == TotpState::Enabled,
    };
    Ok(UserRow {
        user,
        password_hash: col(row, "password_hash")?,
        failed_logins: col(row, "failed_logins")?,
        locked_until: col::<Option<i64>>(row, "locked_until")?.map(from_millis),
    })
}

/// Which users to list.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Only this status.
    pub status: Option<UserStatus>,
    /// Only this kind.
    pub kind: Option<UserKind>,
    /// Username or display name contains this (case-insensitive).
    pub search: Option<String>,
    /// Only users whose password is in this state (computed at `password_now` with the
    /// policy's cut-off `password_expired_before`, as [`PasswordStatus::of`] does).
    pub password_status: Option<PasswordStatus>,
    /// The time the password state is computed at (the service sets it).
    pub password_now: Option<DateTime<Utc>>,
    /// The policy's expiry cut-off: passwords set at or before it are expired by age.
    pub password_expired_before: Option<DateTime<Utc>>,
    /// Only users locked out (`true`) or not locked out (`false`) at `password_now`: a lock
    /// whose end has passed no longer counts.
    pub locked_out: Option<bool>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// Fields of a user an administrator may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// New display name.
    pub display_name: Option<String>,
    /// New email (`Some(None)` clears it).
    pub email: Option<Option<String>>,
    /// New roles.
    pub roles: Option<Vec<String>>,
    /// New status.
    pub status: Option<UserStatus>,
    /// New set of domains.
    pub domains: Option<Vec<tumbler_domain::ids::DomainId>>,
}

impl Store {
    /// Users matching `filter`, by username, and how many match in all.
    pub async fn users(&self, filter: &UserFilter) -> Result<(Vec<UserRow>, i64), StoreError> {
        // The same order as `PasswordStatus::of`.
        let state = "CASE WHEN password_hash IS NULL THEN 'none' \
             WHEN temp_password_expires_at IS NOT NULL AND temp_password_expires_at <= $6 THEN 'expired' \
             WHEN temp_password_expires_at IS NOT NULL AND must_change_password <> 0 THEN 'temporary' \
             WHEN $7 >= 0 AND password_changed_at IS NOT NULL AND password_changed_at <= $7 THEN 'expired_by_age' \
             WHEN must_change_password <> 0 THEN 'policy_tightened' ELSE 'active' END";
        let condition = format!(
            "($1 IS NULL OR status = $1) AND ($2 IS NULL OR kind = $2) AND \
             ($3 IS NULL OR LOWER(username) LIKE $3 ESCAPE '!' OR LOWER(display_name) LIKE $3 ESCAPE '!') \
             AND ($8 = '' OR {state} = $8) \
             AND ($9 < 0 OR (CASE WHEN locked_until IS NOT NULL AND locked_until > $6 THEN 1 ELSE 0 END) = $9)"
        );
        let now = to_millis(filter.password_now.unwrap_or_else(Utc::now));
        // -1: no expiry (times are positive milliseconds).
        let cutoff = filter.password_expired_before.map(to_millis).unwrap_or(-1);
        let wanted = filter.password_status.map(|p| p.as_str()).unwrap_or("");
        // -1: either; 1: locked out now; 0: not locked out now.
        let locked: i64 = filter.locked_out.map_or(-1, i64::from);
        let search = filter
            .search
            .as_deref()
            .map(crate::conditions::like_pattern);
        let sql = format!(
            "SELECT {COLUMNS} FROM users WHERE {condition} ORDER BY username LIMIT $4 OFFSET $5"
        );
        let rows = sqlx::query(&sql)
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.kind.map(|k| k.as_str()))
            .bind(search.as_deref())
            .bind(filter.limit)
            .bind(filter.offset)
            .bind(now)
            .bind(cutoff)
            .bind(wanted)
            .bind(locked)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        // The same placeholders as the page query: $4 and $5 are bound and unused here.
        let total = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM users WHERE {condition} AND $4 = $4 AND $5 = $5"
        ))
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.kind.map(|k| k.as_str()))
        .bind(search.as_deref())
        .bind(filter.limit)
        .bind(filter.offset)
        .bind(now)
        .bind(cutoff)
        .bind(wanted)
        .bind(locked)
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::query)?;
        Ok((
            rows.iter().map(from_row).collect::<Result<_, _>>()?,
            col(&total, "n")?,
        ))
    }

    /// The user with this login name.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE username = $1");
        self.find_one(&sql, username, from_row).await
    }

    /// The user with this id.
    pub async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        self.find_one(&sql, id.as_str(), from_row).await
    }

    /// How many users exist.
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::query)?;
        col(&row, "n")
    }
}

impl Tx {
    /// Applies `changes` to a user; returns whether the user exists.
    pub async fn update_user(
        &mut self,
        id: &UserId,
        changes: &UserChanges,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET display_name = COALESCE($1, display_name), \
             email = CASE WHEN $2 = 1 THEN $3 ELSE email END, \
             roles = COALESCE($4, roles), status = COALESCE($5, status), updated_at = $6 WHERE id = $7",
        )
        .bind(changes.display_name.as_deref())
        .bind(i64::from(changes.email.is_some()))
        .bind(changes.email.clone().flatten())
        .bind(changes.roles.as_ref().map(|r| r.join(",")))
        .bind(changes.status.map(|s| s.as_str()))
        .bind(to_millis(now))
        .bind(id.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        if let (Some(domains), 1) = (&changes.domains, done.rows_affected()) {
            self.set_user_domains(id, domains).await?;
        }
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a user (sessions and tokens go with it); returns whether it existed.
    pub async fn delete_user(&mut self, id: &UserId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// How many users (only enabled ones if `enabled_only`) hold `role`, read inside this
    /// transaction.
    pub async fn count_users_with_role(
        &mut self,
        role: &str,
        enabled_only: bool,
    ) -> Result<i64, StoreError> {
        let rows = sqlx::query("SELECT roles FROM users WHERE ($1 = 0 OR status = 'enabled')")
            .bind(i64::from(enabled_only))
            .fetch_all(self.conn())
            .await
            .map_err(StoreError::query)?;
        let mut n = 0;
        for row in &rows {
            let roles: String = col(row, "roles")?;
            n += i64::from(roles.split(',').any(|r| r == role));
        }
        Ok(n)
    }

    /// Inserts a user; a taken username is [`StoreError::Duplicate`].
    pub async fn insert_user(
        &mut self,
        new: NewUser<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let u = new.user;
        sqlx::query(
            "INSERT INTO users (id, username, display_name, email, kind, status, roles, password_hash, \
             must_change_password, password_changed_at, temp_password_expires_at, failed_logins, locked_until, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12, 0, NULL, $11, $11)",
        )
        .bind(u.id.as_str())
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(u.email.as_deref())
        .bind(u.kind.as_str())
        .bind(u.status.as_str())
        .bind(u.roles.join(","))
        .bind(new.password_hash)
        .bind(i64::from(u.must_change_password))
        .bind(u.password_changed_at.map(to_millis))
        .bind(to_millis(now))
        .bind(u.temp_password_expires_at.map(to_millis))
        .execute(self.conn())
        .await
        .map_err(StoreError::unique(tumbler_domain::object::ObjectKind::Username))?;
        Ok(())
    }

    /// Sets a user's password hash and clears failed logins and any lockout. A temporary
    /// password (`temp_expires_at` set) must be changed at next login and stops working then.
    pub async fn set_password(
        &mut self,
        id: &UserId,
        password_hash: &str,
        temp_expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, must_change_password = $2, password_changed_at = $3, \
             temp_password_expires_at = $5, failed_logins = 0, locked_until = NULL, updated_at = $3 WHERE id = $4",
        )
        .bind(password_hash)
        .bind(i64::from(temp_expires_at.is_some()))
        .bind(to_millis(now))
        .bind(id.as_str())
        .bind(temp_expires_at.map(to_millis))
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Reserves one login attempt for the account before its password or code is checked:
    /// counts it as a failure at once, in one statement, unless the account is locked or the
    /// failures (finished and in flight) already reach `max`. An expired lock starts the count
    /// again. Returns whether the attempt may go on.
    pub async fn reserve_login_attempt(
        &mut self,
        id: &UserId,
        max: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET \
               failed_logins = CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1 ELSE failed_logins + 1 END, \
               locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN NULL ELSE locked_until END, \
               updated_at = $2 \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) \
               AND (failed_logins < $3 OR (locked_until IS NOT NULL AND locked_until <= $2))",
        )
        .bind(id.as_str())
        .bind(to_millis(now))
        .bind(max)
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// A reserved attempt failed: it stays counted, and when the count reaches `max` the
    /// account locks until `lock_until` (the count starts again). Returns whether it locked.
    pub async fn fail_login_attempt(
        &mut self,
        id: &UserId,
        max: i64,
        lock_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET failed_logins = 0, locked_until = $2, updated_at = $3 \
             WHERE id = $1 AND failed_logins >= $4 AND (locked_until IS NULL OR locked_until <= $3)",
        )
        .bind(id.as_str())
        .bind(to_millis(lock_until))
        .bind(to_millis(now))
        .bind(max)
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// A reserved attempt succeeded without ending the failure count (HTTP Basic, a first
    /// factor): the reservation is taken back.
    pub async fn release_login_attempt(
        &mut self,
        id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET failed_logins = CASE WHEN failed_logins > 0 THEN failed_logins - 1 ELSE 0 END, \
             updated_at = $2 WHERE id = $1",
        )
        .bind(id.as_str())
        .bind(to_millis(now))
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }

    /// Records the outcome of a login: the failure count and lockout to store.
    pub async fn set_login_failures(
        &mut self,
        id: &UserId,
        failed_logins: i64,
        locked_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET failed_logins = $1, locked_until = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(failed_logins)
        .bind(locked_until.map(to_millis))
        .bind(to_millis(now))
        .bind(id.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }
}
