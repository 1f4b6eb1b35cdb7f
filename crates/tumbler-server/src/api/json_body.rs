//! A JSON body extractor whose rejections are API errors with a stable code
//! (`invalid_json`), not axum's plain-text answers.

use crate::error::ApiError;
use axum::extract::{FromRequest, OptionalFromRequest, Request};
use axum::Json;
use serde::de::DeserializeOwned;

/// A request body parsed as JSON; a malformed or mistyped body is a 400/415/422
/// `invalid_json` error naming the problem (never echoing a secret field's value).
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match <Json<T> as FromRequest<S>>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => {
                // serde's messages name fields and expected types; they quote a value only for
                // unknown enum variants, which are never secret fields here.
                Err(ApiError::new(
                    rejection.status(),
                    "invalid_json",
                    rejection.body_text(),
                ))
            }
        }
    }
}

/// An optional JSON body: absent (no `Content-Type: application/json`) is `None`; present
/// but malformed is an `invalid_json` error.
impl<S, T> OptionalFromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        match <Json<T> as OptionalFromRequest<S>>::from_request(req, state).await {
            Ok(value) => Ok(value.map(|Json(v)| Self(v))),
            Err(rejection) => Err(ApiError::new(
                rejection.status(),
                "invalid_json",
                rejection.body_text(),
            )),
        }
    }
}
