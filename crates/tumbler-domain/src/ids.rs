//! Identifiers. Ids are opaque strings (UUIDv7, so they sort by creation time).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new, unique id.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// Wraps an id read from the store or a request.
            pub fn from_string(s: impl Into<String>) -> Self {
                Self(s.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A console user.
    UserId
);
id_type!(
    /// A console session (the public id, not the cookie secret).
    SessionId
);
id_type!(
    /// An API token.
    TokenId
);
id_type!(
    /// A vault data key.
    DataKeyId
);
id_type!(
    /// A domain (a group that scopes objects).
    DomainId
);
id_type!(
    /// A node: one group of the asset tree.
    NodeId
);
id_type!(
    /// An asset: a thing with accounts (server, database, device).
    AssetId
);
id_type!(
    /// An account: a username on an asset and its secret.
    AccountId
);
id_type!(
    /// A change-secret task.
    ChangeTaskId
);
id_type!(
    /// One run of a change-secret task.
    ExecutionId
);
id_type!(
    /// One account in one execution.
    RecordId
);
id_type!(
    /// A job: a long operation answered with `202` (see [`crate::job`]).
    JobId
);
id_type!(
    /// A client certificate a user registered for certificate-based login.
    CertificateId
);
id_type!(
    /// A webhook: an address finished runs are posted to.
    WebhookId
);
