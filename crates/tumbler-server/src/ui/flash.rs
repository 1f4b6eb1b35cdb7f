//! What survives the redirect after a console form (post/redirect/get): the message saying
//! what the action did ([`Flash`], shown once on the next page of the same session) and the
//! secrets an action revealed ([`Revealed`], reached once through a link that expires).
//!
//! Both live in this node's memory only, keyed by the session's CSRF token (a per-session
//! secret that never leaves the server and the page), so another session cannot read them
//! and a restart forgets them. Each map is bounded: a flood of actions cannot grow it past
//! [`MAX_ENTRIES`], and expired entries go at every write.

use super::frame::PageFrame;
use crate::state::AppState;
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// How long a message waits for the page that shows it.
pub const FLASH_TTL: Duration = Duration::from_secs(120);

/// How long the link to revealed secrets works (once).
pub const REVEAL_TTL: Duration = Duration::from_secs(60);

/// The most messages or revealed sets kept at once (the oldest go first).
pub const MAX_ENTRIES: usize = 10_000;

/// The longest message kept, in bytes (a message may echo form input: a longer one is cut).
pub const MAX_MESSAGE: usize = 1024;

/// How a message reads: each tone has its own word and look, never colour alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// The action was done.
    Success,
    /// The action was done, but something needs a look.
    Warning,
    /// The action was not done.
    Error,
}

impl Tone {
    /// The word the banner starts with.
    pub fn word(self) -> &'static str {
        match self {
            Self::Success => "Done",
            Self::Warning => "Warning",
            Self::Error => "Not done",
        }
    }

    /// The CSS class and id suffix (`notice`, `warning`, `error`).
    pub fn class(self) -> &'static str {
        match self {
            Self::Success => "notice",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }

    /// The ARIA role: errors interrupt, the others are polite.
    pub fn role(self) -> &'static str {
        match self {
            Self::Error => "alert",
            _ => "status",
        }
    }
}

/// A message saying what the last action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// How it reads.
    pub tone: Tone,
    /// The sentence for the user (never a secret).
    pub message: String,
    /// The stable error code, shown in small print for support.
    pub code: Option<String>,
}

impl Flash {
    /// The action was done.
    pub fn success(message: impl Into<String>) -> Self {
        Self {
            tone: Tone::Success,
            message: message.into(),
            code: None,
        }
    }

    /// The action was done, with something to look at.
    pub fn warning(message: impl Into<String>) -> Self {
        Self {
            tone: Tone::Warning,
            message: message.into(),
            code: None,
        }
    }

    /// The action was not done.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            tone: Tone::Error,
            message: super::labels::sentence(&message.into()),
            code: None,
        }
    }

    /// A destructive form posted without its dialog's confirmation: nothing was done.
    pub fn unconfirmed() -> Self {
        Self::error("Nothing was deleted: confirm in the dialog first.")
            .with_code("confirmation_required")
    }

    /// The same message with `code` in small print.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

/// One revealed secret: what it is and its value, shown in a field of its own.
pub struct RevealedSecret {
    /// What the value is, for example "Old password".
    pub label: String,
    /// The value (wiped when dropped).
    pub value: Zeroizing<String>,
}

/// Secrets an action revealed, with what they belong to.
pub struct Revealed {
    /// What they belong to, for example `app1@web-1`.
    pub subject: String,
    /// The secrets.
    pub secrets: Vec<RevealedSecret>,
}

impl Revealed {
    /// A temporary password just issued to `username`, shown once.
    pub fn temporary_password(username: String, password: &secrecy::SecretString) -> Self {
        use secrecy::ExposeSecret;
        Self {
            subject: username,
            secrets: vec![RevealedSecret {
                label: "Temporary password".to_owned(),
                value: password.expose_secret().to_owned().into(),
            }],
        }
    }
}

struct Entry<T> {
    session: String,
    /// The page the entry is for (reveals only; empty for messages).
    page: String,
    value: T,
    until: Instant,
}

/// The messages and revealed secrets waiting for their page.
#[derive(Default)]
pub struct ConsoleMemory {
    flashes: Mutex<HashMap<String, Entry<Flash>>>,
    reveals: Mutex<HashMap<String, Entry<Revealed>>>,
}

impl ConsoleMemory {
    /// Keeps `flash` for the next page of the session whose CSRF token is `session`
    /// (replacing one not yet shown).
    pub fn flash(&self, session: &str, mut flash: Flash, now: Instant) {
        if flash.message.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !flash.message.is_char_boundary(cut) {
                cut -= 1;
            }
            flash.message.truncate(cut);
            flash.message.push('…');
        }
        let mut map = lock(&self.flashes);
        make_room(&mut map, now);
        map.insert(
            session.to_owned(),
            Entry {
                session: session.to_owned(),
                page: String::new(),
                value: flash,
                until: now + FLASH_TTL,
            },
        );
    }

    /// The message waiting for `session`'s next page, taken (shown once).
    pub fn take_flash(&self, session: &str, now: Instant) -> Option<Flash> {
        let entry = lock(&self.flashes).remove(session)?;
        (entry.until > now).then_some(entry.value)
    }

    /// Keeps `revealed` for `session`, to be shown on `page` (a path), and answers the one-time
    /// token of the link to it.
    pub fn reveal(&self, session: &str, page: &str, revealed: Revealed, now: Instant) -> String {
        let mut bytes = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut map = lock(&self.reveals);
        make_room(&mut map, now);
        map.insert(
            token.clone(),
            Entry {
                session: session.to_owned(),
                page: page.to_owned(),
                value: revealed,
                until: now + REVEAL_TTL,
            },
        );
        token
    }

    /// The secrets behind `token`, taken (the link works once), if it is `session`'s, for
    /// `page` and has not expired.
    pub fn take_revealed(
        &self,
        session: &str,
        page: &str,
        token: &str,
        now: Instant,
    ) -> Option<Revealed> {
        let mut map = lock(&self.reveals);
        let entry = map.get(token)?;
        if entry.session != session || entry.page != page {
            // Another session's link, or another page: left alone, so its owner can still open
            // it where it belongs.
            return None;
        }
        let entry = map.remove(token)?;
        (entry.until > now).then_some(entry.value)
    }
}

/// Answers a console form (post/redirect/get): keeps `flash` for the session's next page and
/// sends the browser to `to` with 303, so Refresh shows the page instead of repeating the
/// action.
pub fn redirect_after(state: &AppState, frame: &PageFrame, to: &str, flash: Flash) -> Response {
    state.console.flash(&frame.csrf, flash, Instant::now());
    Redirect::to(to).into_response()
}

/// Answers an action that revealed secrets: keeps `flash` for the page and the secrets for
/// the session, and sends the browser to `page` with a one-time link (`?revealed=<token>`)
/// that expires after [`REVEAL_TTL`].
pub fn redirect_revealed(
    state: &AppState,
    frame: &PageFrame,
    page: &str,
    flash: Flash,
    revealed: Revealed,
) -> Response {
    let now = Instant::now();
    state.console.flash(&frame.csrf, flash, now);
    let path = page.split('?').next().unwrap_or(page);
    let token = state.console.reveal(&frame.csrf, path, revealed, now);
    let joiner = if page.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{page}{joiner}revealed={token}")).into_response()
}

/// The one-time link of a page that can show revealed secrets: the `revealed` query parameter
/// and the page's path (a link opens only on the page it was made for).
pub struct RevealLink {
    token: Option<String>,
    path: String,
}

impl std::fmt::Debug for RevealLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevealLink")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("path", &self.path)
            .finish()
    }
}

#[derive(Deserialize)]
struct RevealQuery {
    revealed: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RevealLink {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .uri
            .query()
            .and_then(|q| serde_html_form::from_str::<RevealQuery>(q).ok())
            .and_then(|q| q.revealed);
        Ok(Self {
            token,
            path: parts.uri.path().to_owned(),
        })
    }
}

impl RevealLink {
    /// The secrets behind the link, taken; a used or expired link leaves a warning in the
    /// frame instead.
    pub fn open(&self, state: &AppState, frame: &mut PageFrame) -> Option<Revealed> {
        let token = self.token.as_deref()?;
        let found = state
            .console
            .take_revealed(&frame.csrf, &self.path, token, Instant::now());
        if found.is_none() {
            frame.flash = Some(Flash::warning(
                "This link to revealed secrets was used or has expired; reveal again to see them (each reveal is audited).",
            ));
        }
        found
    }
}

impl ConsoleMemory {
    /// Drops everything kept for `session` (at logout).
    pub fn forget_session(&self, session: &str) {
        lock(&self.flashes).retain(|_, e| e.session != session);
        lock(&self.reveals).retain(|_, e| e.session != session);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves a map of finished inserts: still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Drops expired entries and, when still full, the tenth closest to expiring (in one pass, so
/// a flood costs a sort now and then, not a scan at every write).
fn make_room<T>(map: &mut HashMap<String, Entry<T>>, now: Instant) {
    map.retain(|_, e| e.until > now);
    if map.len() < MAX_ENTRIES {
        return;
    }
    let mut by_age: Vec<(Instant, String)> =
        map.iter().map(|(k, e)| (e.until, k.clone())).collect();
    by_age.sort_unstable();
    for (_, key) in by_age.into_iter().take(MAX_ENTRIES / 10) {
        map.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revealed() -> Revealed {
        Revealed {
            subject: "app1@web-1".to_owned(),
            secrets: vec![RevealedSecret {
                label: "New password".to_owned(),
                value: Zeroizing::new("a,b c".to_owned()),
            }],
        }
    }

    #[test]
    fn a_flash_is_shown_once_to_its_session_before_it_expires() {
        let memory = ConsoleMemory::default();
        let now = Instant::now();
        memory.flash("s1", Flash::success("saved"), now);
        assert_eq!(memory.take_flash("s2", now), None);
        assert_eq!(memory.take_flash("s1", now), Some(Flash::success("saved")));
        assert_eq!(memory.take_flash("s1", now), None);
        memory.flash("s1", Flash::error("no"), now);
        assert_eq!(memory.take_flash("s1", now + FLASH_TTL), None);
    }

    #[test]
    fn a_reveal_link_works_once_for_its_session_and_page_only_until_it_expires() {
        let memory = ConsoleMemory::default();
        let now = Instant::now();
        let token = memory.reveal("s1", "/p", revealed(), now);
        assert!(memory.take_revealed("s2", "/p", &token, now).is_none());
        assert!(memory.take_revealed("s1", "/other", &token, now).is_none());
        let got = memory
            .take_revealed("s1", "/p", &token, now)
            .expect("revealed");
        assert_eq!(got.secrets[0].value.as_str(), "a,b c");
        assert!(memory.take_revealed("s1", "/p", &token, now).is_none());
        let token = memory.reveal("s1", "/p", revealed(), now);
        assert!(memory
            .take_revealed("s1", "/p", &token, now + REVEAL_TTL)
            .is_none());
        let other = memory.reveal("s1", "/p", revealed(), now);
        assert_ne!(token, other);
        memory.forget_session("s1");
        assert!(memory.take_revealed("s1", "/p", &other, now).is_none());
    }

    #[test]
    fn a_long_message_is_cut() {
        let memory = ConsoleMemory::default();
        let now = Instant::now();
        memory.flash("s1", Flash::error("é".repeat(MAX_MESSAGE)), now);
        let kept = memory.take_flash("s1", now).expect("kept");
        assert!(kept.message.len() <= MAX_MESSAGE + '…'.len_utf8());
    }

    #[test]
    fn the_maps_stay_bounded() {
        let memory = ConsoleMemory::default();
        let now = Instant::now();
        for i in 0..MAX_ENTRIES + 5 {
            memory.flash(&format!("s{i}"), Flash::success("x"), now);
        }
        assert!(lock(&memory.flashes).len() <= MAX_ENTRIES);
    }
}
