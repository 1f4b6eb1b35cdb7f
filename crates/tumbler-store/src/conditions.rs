//! A `WHERE` clause built from optional filters, with numbered placeholders (`$1`, `$2`...)
//! that both backends accept, and its values bound in order.

use crate::{col, StoreError};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyPool};

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
}

/// Conditions joined with `AND`, and the values they bind.
#[derive(Debug, Default)]
pub(crate) struct Conditions {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Conditions {
    /// The next placeholder for `value`, e.g. `$3`.
    pub(crate) fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    /// Adds a clause; `{}` in it is replaced by the placeholder of `value`.
    pub(crate) fn push(&mut self, clause: &str, value: Bind) {
        let placeholder = self.bind(value);
        self.clauses.push(clause.replace("{}", &placeholder));
    }

    /// Adds `column IN (...)` for `values`; an empty list matches nothing.
    pub(crate) fn push_in(&mut self, column: &str, values: impl IntoIterator<Item = String>) {
        let placeholders: Vec<String> = values
            .into_iter()
            .map(|v| self.bind(Bind::Text(v)))
            .collect();
        if placeholders.is_empty() {
            self.clauses.push("1 = 0".to_owned());
        } else {
            self.clauses
                .push(format!("{column} IN ({})", placeholders.join(", ")));
        }
    }

    /// Adds a clause with no value.
    pub(crate) fn push_raw(&mut self, clause: &str) {
        self.clauses.push(clause.to_owned());
    }

    /// `WHERE ...`, or nothing when there are no conditions.
    pub(crate) fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The placeholder number the next bind would get (for `LIMIT`/`OFFSET`).
    pub(crate) fn next_placeholder(&self, offset: usize) -> String {
        format!("${}", self.binds.len() + offset)
    }

    /// Binds every value, in order, to `query`.
    pub(crate) fn apply<'q>(
        &self,
        mut query: Query<'q, Any, AnyArguments<'q>>,
    ) -> Query<'q, Any, AnyArguments<'q>> {
        for b in &self.binds {
            query = match b {
                Bind::Text(s) => query.bind(s.clone()),
                Bind::Int(i) => query.bind(*i),
            };
        }
        query
    }

    /// One page (`limit` rows after `offset`) of `SELECT {columns} {from}` under these
    /// conditions, ordered by `order_by`, and how many rows match in all.
    pub(crate) async fn page<T>(
        &self,
        pool: &AnyPool,
        columns: &str,
        from: &str,
        order_by: &str,
        (limit, offset): (i64, i64),
        from_row: fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<(Vec<T>, i64), StoreError> {
        let where_sql = self.where_sql();
        let sql = format!(
            "SELECT {columns} {from} {where_sql} ORDER BY {order_by} LIMIT {} OFFSET {}",
            self.next_placeholder(1),
            self.next_placeholder(2)
        );
        let rows = self
            .apply(sqlx::query(&sql))
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
            .map_err(StoreError::query)?;
        let count_sql = format!("SELECT COUNT(*) AS n {from} {where_sql}");
        let total = self
            .apply(sqlx::query(&count_sql))
            .fetch_one(pool)
            .await
            .map_err(StoreError::query)?;
        Ok((
            rows.iter().map(from_row).collect::<Result<_, _>>()?,
            col(&total, "n")?,
        ))
    }
}

/// `%text%` for a case-insensitive `LIKE ... ESCAPE '!'`.
pub(crate) fn like_pattern(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('!', "!!")
        .replace('%', "!%")
        .replace('_', "!_");
    format!("%{escaped}%")
}
