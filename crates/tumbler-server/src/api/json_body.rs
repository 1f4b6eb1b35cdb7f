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

/// A JSON body read but not yet parsed, for handlers that must check the caller (password and
/// second factor) before they say anything about the body: otherwise a malformed body would
/// answer differently after a right password than after a wrong one.
pub struct DeferredJsonBody {
    json: bool,
    bytes: axum::body::Bytes,
}

impl DeferredJsonBody {
    /// The string field `name` of the body if it is a JSON object holding one; `None` for
    /// anything else (never an error).
    pub fn string_field(&self, name: &str) -> Option<String> {
        let value: Value = serde_json::from_slice(&self.bytes).ok()?;
        value.get(name)?.as_str().map(str::to_owned)
    }

    /// Parses the body as [`JsonBody`] would, with the same `invalid_json` errors.
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        if !self.json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_json",
                "Expected request with `Content-Type: application/json`",
            ));
        }
        let value: Value = serde_json::from_slice(&self.bytes).map_err(|e| {
            let status = if e.is_syntax() || e.is_eof() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            ApiError::new(
                status,
                "invalid_json",
                format!("Failed to parse the request body as JSON: {e}"),
            )
        })?;
        bind(value)
    }
}

impl<S> FromRequest<S> for DeferredJsonBody
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let essence = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                essence == "application/json" || essence.ends_with("+json")
            })
            .unwrap_or(false);
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| ApiError::new(r.status(), "invalid_json", r.body_text()))?;
        Ok(Self { json, bytes })
    }
}
