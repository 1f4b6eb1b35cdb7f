//! The kinds of object an error can name ("no such asset", "account already exists").

/// A kind of object, named in "not found" and "already exists" errors. Its text is the one
/// the messages show.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::AsRefStr,
    strum::Display,
    strum::EnumIter,
)]
pub enum ObjectKind {
    /// An account on an asset.
    #[strum(serialize = "account")]
    Account,
    /// An asset.
    #[strum(serialize = "asset")]
    Asset,
    /// An asset's membership of a node.
    #[strum(serialize = "asset node")]
    AssetNode,
    /// A user's client certificate.
    #[strum(serialize = "certificate")]
    Certificate,
    /// A domain.
    #[strum(serialize = "domain")]
    Domain,
    /// A change-secret execution.
    #[strum(serialize = "execution")]
    Execution,
    /// A job.
    #[strum(serialize = "job")]
    Job,
    /// A node of the asset tree.
    #[strum(serialize = "node")]
    Node,
    /// An action on a node (a form's verb).
    #[strum(serialize = "node action")]
    NodeAction,
    /// A change-secret record.
    #[strum(serialize = "record")]
    Record,
    /// A retry of a change-secret record.
    #[strum(serialize = "retry")]
    Retry,
    /// A role.
    #[strum(serialize = "role")]
    Role,
    /// A sealed version of a secret in the vault.
    #[strum(serialize = "secret version")]
    SecretVersion,
    /// Tumbler's system SSH key.
    #[strum(serialize = "system key")]
    SystemKey,
    /// A change-secret task.
    #[strum(serialize = "task")]
    Task,
    /// A console user.
    #[strum(serialize = "user")]
    User,
    /// A console user's name (users are unique by it).
    #[strum(serialize = "username")]
    Username,
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn each_kind_reads_back_from_its_text() {
        for kind in ObjectKind::iter() {
            assert_eq!(kind.to_string().parse::<ObjectKind>().ok(), Some(kind));
        }
        assert_eq!(ObjectKind::SystemKey.to_string(), "system key");
        assert_eq!(ObjectKind::AssetNode.as_ref(), "asset node");
    }
}
