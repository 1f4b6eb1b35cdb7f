//! How the services' errors reach a console page: what the user can act on is shown on the
//! page (see [`ConsoleError::inline`]); a refusal or a missing object is the error page; a
//! fault is logged in full and answered without detail.

use super::frame::ConsoleError;
use tumbler_core::{ChangeSecretError, DeviceKeyError, InventoryError};

impl ConsoleError {
    /// The message a page shows inline for an error the user can correct, or the error
    /// itself when it is not one (a refusal, a missing object, a fault).
    pub fn inline(self) -> Result<String, ConsoleError> {
        match self {
            Self::Invalid(message) => Ok(message),
            other => Err(other),
        }
    }
}

impl From<InventoryError> for ConsoleError {
    fn from(e: InventoryError) -> Self {
        match e {
            InventoryError::Forbidden => Self::denied(),
            InventoryError::NotFound(what) => Self::NotFound(format!("No such {what}.")),
            e @ (InventoryError::Store(_) | InventoryError::Vault(_)) => {
                Self::internal("inventory page failed", &e)
            }
            other => Self::Invalid(other.to_string()),
        }
    }
}

impl From<ChangeSecretError> for ConsoleError {
    fn from(e: ChangeSecretError) -> Self {
        match e {
            ChangeSecretError::Forbidden => Self::denied(),
            ChangeSecretError::NotFound(what) => Self::NotFound(format!("No such {what}.")),
            e @ (ChangeSecretError::Store(_) | ChangeSecretError::Vault(_)) => {
                Self::internal("change-secret page failed", &e)
            }
            other => Self::Invalid(other.to_string()),
        }
    }
}

impl From<DeviceKeyError> for ConsoleError {
    fn from(e: DeviceKeyError) -> Self {
        match e {
            DeviceKeyError::Forbidden => Self::denied(),
            e @ (DeviceKeyError::Store(_)
            | DeviceKeyError::Vault(_)
            | DeviceKeyError::KeyGeneration(_)) => Self::internal("device key page failed", &e),
            other => Self::Invalid(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_user_can_correct_is_shown_inline() {
        assert!(ConsoleError::from(InventoryError::Forbidden)
            .inline()
            .is_err());
        assert!(ConsoleError::Invalid("bad port".into()).inline().is_ok());
        assert_eq!(
            ConsoleError::from(ChangeSecretError::Forbidden).code(),
            "forbidden"
        );
    }
}
