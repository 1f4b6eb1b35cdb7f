//! A JSON body extractor whose rejections are API errors with a stable code
//! (`invalid_json`), not axum's plain-text answers. Only a JSON object is a body: serde would
//! bind an array to a struct by position, past `deny_unknown_fields`.

use crate::error::ApiError;
use axum::extract::{FromRequest, OptionalFromRequest, Request};
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A request body parsed as a JSON object; a malformed or mistyped body, or one that is not
/// an object, is a 400/415/422 `invalid_json` error naming the problem (never echoing a
/// secret field's value).
pub struct JsonBody<T>(pub T);

fn rejection(r: axum::extract::rejection::JsonRejection) -> ApiError {
    // serde's messages name fields and expected types; they quote a value only for unknown
    // enum variants, which are never secret fields here.
    ApiError::new(r.status(), "invalid_json", r.body_text())
}

/// Binds a parsed body to `T`, refusing anything but an object.
fn bind<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json",
            "the request body must be a JSON object",
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json",
            format!("Failed to deserialize the JSON body into the target type: {e}"),
        )
    })
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = <Json<Value> as FromRequest<S>>::from_request(req, state)
            .await
            .map_err(rejection)?;
        bind(value).map(Self)
    }
}

/// An optional JSON body: absent (no `Content-Type: application/json`) is `None`; present
/// but malformed, or not an object, is an `invalid_json` error.
impl<S, T> OptionalFromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        match <Json<Value> as OptionalFromRequest<S>>::from_request(req, state)
            .await
            .map_err(rejection)?
        {
            None => Ok(None),
            Some(Json(value)) => bind(value).map(|v| Some(Self(v))),
        }
    }
}
