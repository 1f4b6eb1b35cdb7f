//! The error page of the console: [`ConsoleError`] answers with its message and code, in the
//! page frame (banner and menu) when the request came from a known session.
//!
//! The extractors that read the session leave the frame in a slot that [`frame_errors`], a
//! layer over every console route, puts on the request; an error answer is rendered again
//! with it, so no handler has to hand its frame to its errors.

use super::frame::{ConsoleError, PageFrame, INTERNAL_MESSAGE};
use askama::Template;
use axum::extract::Request;
use axum::http::{Extensions, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::sync::{Arc, Mutex};

/// Where the session's extractors leave the frame for the error page.
#[derive(Clone, Default)]
struct FrameSlot(Arc<Mutex<Option<PageFrame>>>);

/// What the error page says, left on the answer for [`frame_errors`].
#[derive(Clone)]
struct ErrorContent {
    code: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    frame: Option<PageFrame>,
    code: &'static str,
    message: &'a str,
}

/// Keeps `frame` for the error page of this request, if the layer is there.
pub(super) fn remember(extensions: &Extensions, frame: &PageFrame) {
    if let Some(FrameSlot(slot)) = extensions.get::<FrameSlot>() {
        if let Ok(mut kept) = slot.lock() {
            *kept = Some(frame.clone());
        }
    }
}

fn render(status: StatusCode, content: &ErrorContent, frame: Option<PageFrame>) -> Response {
    let page = ErrorPage {
        frame,
        code: content.code,
        message: &content.message,
    };
    match page.render() {
        Ok(html) => {
            let mut res = (status, Html(html)).into_response();
            res.extensions_mut().insert(content.clone());
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE).into_response()
        }
    }
}

/// The layer over the console routes that shows error pages in the caller's frame.
pub async fn frame_errors(mut req: Request, next: Next) -> Response {
    let slot = FrameSlot::default();
    req.extensions_mut().insert(slot.clone());
    let res = next.run(req).await;
    let Some(content) = res.extensions().get::<ErrorContent>().cloned() else {
        return res;
    };
    let frame = slot.0.lock().ok().and_then(|mut kept| kept.take());
    if frame.is_none() {
        return res;
    }
    let (parts, _) = res.into_parts();
    let mut framed = render(parts.status, &content, frame);
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_LENGTH && name != axum::http::header::CONTENT_TYPE {
            framed.headers_mut().append(name.clone(), value.clone());
        }
    }
    framed
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let message = match &self {
            Self::LoginRequired => {
                return Redirect::to(super::console_form::LOGIN_PAGE).into_response()
            }
            Self::Unfinished(to) => return Redirect::to(to).into_response(),
            Self::Forbidden(m) | Self::NotFound(m) | Self::Invalid(m) => m.clone(),
            Self::Internal => INTERNAL_MESSAGE.to_owned(),
        };
        let content = ErrorContent {
            code: self.code(),
            message,
        };
        render(self.status(), &content, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    fn frame() -> PageFrame {
        PageFrame {
            display_name: "Ada <admin>".into(),
            csrf: "tok".into(),
            domain: String::new(),
            flash: None,
            links: Default::default(),
        }
    }

    async fn body(res: Response) -> String {
        let bytes = to_bytes(res.into_body(), 1 << 20).await.expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[tokio::test]
    async fn errors_render_their_message_code_and_status() {
        let res = ConsoleError::NotFound("No such asset.".into()).into_response();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let page = body(res).await;
        assert!(page.contains("No such asset."), "{page}");
        assert!(page.contains(r#"data-code="not_found""#), "{page}");
        assert!(
            page.contains(r#"<small class="code">code: not_found</small>"#),
            "the code in small print for support: {page}"
        );
        assert!(!page.contains("current-user"), "no frame without a session");
        let res = ConsoleError::Internal.into_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let res = ConsoleError::LoginRequired.into_response();
        assert_eq!(res.headers()["location"], "/login");
        assert_eq!(ConsoleError::denied().code(), "forbidden");
    }

    #[tokio::test]
    async fn an_error_of_a_known_session_is_shown_in_its_frame() {
        let app = Router::new()
            .route(
                "/",
                get(|req: Request| async move {
                    remember(req.extensions(), &frame());
                    ConsoleError::denied()
                }),
            )
            .layer(axum::middleware::from_fn(frame_errors));
        let req = Request::builder()
            .uri("/")
            .body(Body::empty())
            .expect("request");
        let res = app.oneshot(req).await.expect("answer");
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let page = body(res).await;
        assert!(
            page.contains(r#"id="current-user">Ada &#60;admin&#62;"#),
            "{page}"
        );
        assert!(
            page.contains("You do not have permission for this."),
            "{page}"
        );
        assert!(
            page.contains(r#"value="tok""#),
            "the logout form has its token"
        );
    }
}
