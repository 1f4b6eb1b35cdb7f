//! How the services' errors reach a console page: what the user can act on is shown on the
//! page (see [`ConsoleError::inline`]); a refusal or a missing object is the error page; a
//! fault is logged in full and answered without detail.

use super::frame::ConsoleError;
#[cfg(test)]
use tumbler_core::{ChangeSecretError, InventoryError};
use tumbler_core::{ErrorKind, ServiceFailure};

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

impl<E: ServiceFailure> From<E> for ConsoleError {
    /// The one mapping of a service error to a console answer, by its kind (as the API's):
    /// a refusal and a missing object are the error page, a fault is logged and answered
    /// without detail, and everything else (a bad value, a wrong or missing code, a conflict
    /// with the object's state, a rule, a throttle) is shown on the page for the user to act on.
    fn from(e: E) -> Self {
        match e.kind() {
            ErrorKind::Forbidden if e.code() == "forbidden" => Self::denied(),
            ErrorKind::Forbidden => Self::Forbidden(e.message()),
            ErrorKind::NotFound => Self::NotFound(e.message()),
            ErrorKind::Internal => Self::internal("console page failed", &e),
            ErrorKind::Invalid
            | ErrorKind::Unauthorized
            | ErrorKind::Conflict
            | ErrorKind::Unprocessable
            | ErrorKind::RateLimited
            | ErrorKind::Upstream
            | ErrorKind::Unavailable => Self::Invalid(super::labels::sentence(&e.message())),
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
        let missing = ConsoleError::from(InventoryError::NotFound(
            tumbler_domain::object::ObjectKind::Asset,
        ));
        assert_eq!(missing.code(), "not_found");
    }
}
