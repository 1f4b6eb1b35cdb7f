//! Login, logout and the password tab of User Settings.

use super::console_form::{ConsoleForm, NoFields};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame, SignedIn};
use crate::middleware::auth::{cookie, origin_of, tokens_match, SESSION_COOKIE};
use crate::session_cookie;
use crate::state::AppState;
use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tumbler_core::{AuthError, AuthMethod, Principal, RequestOrigin};

/// The logged-in console user, if any; pages redirect to /login without one.
pub struct UiSession(pub Option<(Principal, String)>, pub RequestOrigin);

impl FromRequestParts<AppState> for UiSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let origin = origin_of(parts);
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Ok(Self(None, origin));
        };
        let found = match state.auth.authenticate_session(&secret).await {
            Ok(p) => match &p.method {
                AuthMethod::Session { csrf_token, .. } => {
                    let csrf = csrf_token.clone();
                    Some((p, csrf))
                }
                _ => None,
            },
            Err(AuthError::Unauthenticated) => None,
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                None
            }
        };
        Ok(Self(found, origin))
    }
}

/// Renders a page that may show a revealed secret: the browser never caches it.
pub(crate) fn render_uncached(t: &impl Template) -> Response {
    let mut response = render(t);
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// Renders a form sent back because it was refused (422, never cached): nothing was done, the
/// fields keep what was typed and the flash says why.
pub(crate) fn render_rejected(t: &impl Template) -> Response {
    let mut response = render_uncached(t);
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    response
}

/// A form page sent back because it was refused: the same page with status 422.
pub(crate) fn rejected(
    page: Result<Response, super::frame::ConsoleError>,
) -> Result<Response, super::frame::ConsoleError> {
    page.map(rejected_page)
}

/// `page` answered with status 422: the form was refused, nothing was done.
pub(crate) fn rejected_page(mut page: Response) -> Response {
    *page.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    page
}

/// Renders a page (a failing template is logged and answered as an internal error).
pub(crate) fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    username: String,
    error: Option<String>,
    notice: Option<String>,
}

/// Query of the login page.
#[derive(Deserialize)]
pub struct LoginQuery {
    changed: Option<String>,
}

fn login_page_with(
    tls: bool,
    username: String,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let csrf = uuid::Uuid::new_v4().simple().to_string();
    let jar = CookieJar::new().add(session_cookie::login_csrf(csrf.clone(), tls));
    let page = render(&LoginPage {
        csrf,
        username,
        error,
        notice,
    });
    (status, jar, page).into_response()
}

/// `GET /login`
pub async fn login_page(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    let notice = q
        .changed
        .map(|_| "Your password was changed. Log in with your new password.".to_owned());
    login_page_with(state.tls, String::new(), None, notice, StatusCode::OK)
}

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    username: String,
    password: SecretString,
    #[serde(default)]
    totp: Option<String>,
}

/// `POST /login`
pub async fn login_submit(
    State(state): State<AppState>,
    UiSession(_, origin): UiSession,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = jar
        .get(session_cookie::LOGIN_CSRF_COOKIE)
        .map(|c| c.value())
        .unwrap_or("");
    if expected.is_empty() || !tokens_match(expected, &form.csrf) {
        let msg = "Your login form expired. Please try again.".to_owned();
        return login_page_with(
            state.tls,
            form.username,
            Some(msg),
            None,
            StatusCode::FORBIDDEN,
        );
    }
    match state
        .auth
        .login(&form.username, form.password, form.totp.as_deref(), &origin)
        .await
    {
        Ok(ok) => {
            let target = if ok.user.must_change_password {
                "/account/password"
            } else {
                "/"
            };
            let cookie = session_cookie::set(&ok.cookie_secret, &ok.session, state.tls);
            (CookieJar::new().add(cookie), Redirect::to(target)).into_response()
        }
        Err(AuthError::InvalidCredentials) => login_page_with(
            state.tls,
            form.username,
            Some("Invalid username, password or authentication code.".to_owned()),
            None,
            StatusCode::UNAUTHORIZED,
        ),
        Err(
            e @ (AuthError::RateLimited { .. }
            | AuthError::SessionLimit
            | AuthError::TemporaryPasswordExpired),
        ) => {
            let status = match e {
                AuthError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                AuthError::SessionLimit => StatusCode::CONFLICT,
                _ => StatusCode::FORBIDDEN,
            };
            login_page_with(state.tls, form.username, Some(e.to_string()), None, status)
        }
        Err(e) => {
            tracing::error!(error = %e, "login failed");
            login_page_with(
                state.tls,
                form.username,
                Some("Login is unavailable; try again later.".to_owned()),
                None,
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

/// `POST /logout`
pub async fn logout(State(state): State<AppState>, form: ConsoleForm<NoFields>) -> ConsoleResult {
    let (p, frame, origin, _) = form.parts();
    if let Err(e) = state.auth.logout(&p, &origin).await {
        return Err(ConsoleError::internal("logout failed", &e));
    }
    // What the session left waiting (a message, revealed secrets) goes with it.
    state.console.forget_session(&frame.csrf);
    Ok((
        CookieJar::new().add(session_cookie::clear(state.tls)),
        Redirect::to("/login"),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    frame: PageFrame,
    must_change: bool,
    expired: bool,
    remote: bool,
    rules: Vec<String>,
    errors: Vec<String>,
}

async fn password_page_with(
    state: &AppState,
    p: &Principal,
    frame: PageFrame,
    errors: Vec<String>,
) -> Response {
    render(&PasswordPage {
        frame,
        must_change: p.user.must_change_password,
        expired: p.user.must_change_password && p.user.temp_password_expires_at.is_none(),
        remote: p.user.kind != tumbler_domain::user::UserKind::Local,
        rules: state
            .policy
            .get()
            .await
            .map(|policy| policy.describe())
            .unwrap_or_default(),
        errors,
    })
}

/// `GET /account/password`
pub async fn password_page(
    State(state): State<AppState>,
    SignedIn(ConsolePage(p, frame)): SignedIn,
) -> Response {
    password_page_with(&state, &p, frame, Vec::new()).await
}

/// The change-password form.
#[derive(Deserialize)]
pub struct PasswordForm {
    old_password: SecretString,
    new_password: SecretString,
    confirm_password: SecretString,
}

/// `POST /account/password`
pub async fn password_submit(
    State(state): State<AppState>,
    form: ConsoleForm<PasswordForm>,
) -> ConsoleResult {
    let (p, frame, origin, form) = form.parts();
    if form.new_password.expose_secret() != form.confirm_password.expose_secret() {
        return rejected(Ok(password_page_with(
            &state,
            &p,
            frame,
            vec!["The new password and its confirmation differ.".to_owned()],
        )
        .await));
    }
    match state
        .auth
        .change_own_password(&p, form.old_password, form.new_password, &origin)
        .await
    {
        Ok(()) => Ok((
            CookieJar::new().add(session_cookie::clear(state.tls)),
            Redirect::to("/login?changed=1"),
        )
            .into_response()),
        Err(AuthError::PolicyViolation(rules)) => {
            let errors = rules.into_iter().map(|r| r.message).collect();
            rejected(Ok(password_page_with(&state, &p, frame, errors).await))
        }
        Err(
            e @ (AuthError::WrongCurrentPassword
            | AuthError::NoLocalPassword
            | AuthError::AccountLocked
            | AuthError::RateLimited { .. }),
        ) => {
            let status = match e {
                AuthError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                AuthError::AccountLocked => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            };
            let mut res = password_page_with(&state, &p, frame, vec![e.to_string()]).await;
            *res.status_mut() = status;
            Ok(res)
        }
        Err(e) => Err(ConsoleError::internal("password change failed", &e)),
    }
}
