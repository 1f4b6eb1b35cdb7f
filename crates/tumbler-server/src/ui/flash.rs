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
            message: message.into(),
            code: None,
        }
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

struct Entry<T> {
    session: String,
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
    pub fn flash(&self, session: &str, flash: Flash, now: Instant) {
        let mut map = lock(&self.flashes);
        make_room(&mut map, now);
        map.insert(
            session.to_owned(),
            Entry {
                session: session.to_owned(),
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

    /// Keeps `revealed` for `session` and answers the one-time token of the link to it.
    pub fn reveal(&self, session: &str, revealed: Revealed, now: Instant) -> String {
        let mut bytes = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut map = lock(&self.reveals);
        make_room(&mut map, now);
        map.insert(
            token.clone(),
            Entry {
                session: session.to_owned(),
                value: revealed,
                until: now + REVEAL_TTL,
            },
        );
        token
    }

    /// The secrets behind `token`, taken (the link works once), if it is `session`'s and has
    /// not expired.
    pub fn take_revealed(&self, session: &str, token: &str, now: Instant) -> Option<Revealed> {
        let mut map = lock(&self.reveals);
        let entry = map.get(token)?;
        if entry.session != session {
            // Another session's link: left alone, so its owner can still open it.
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

/// Answers an action that revealed secrets: keeps them for the session and sends the browser
/// to `page` with a one-time link (`?revealed=<token>`) that expires after [`REVEAL_TTL`].
pub fn redirect_revealed(
    state: &AppState,
    frame: &PageFrame,
    page: &str,
    revealed: Revealed,
) -> Response {
    let token = state.console.reveal(&frame.csrf, revealed, Instant::now());
    Redirect::to(&format!("{page}?revealed={token}")).into_response()
}

/// The query of a page that can show revealed secrets.
#[derive(Debug, Default, Deserialize)]
pub struct RevealLink {
    /// The one-time token of [`redirect_revealed`].
    pub revealed: Option<String>,
}

impl RevealLink {
    /// The secrets behind the link, taken; a used or expired link leaves a warning in the
    /// frame instead.
    pub fn open(&self, state: &AppState, frame: &mut PageFrame) -> Option<Revealed> {
        let token = self.revealed.as_deref()?;
        let found = state
            .console
            .take_revealed(&frame.csrf, token, Instant::now());
        if found.is_none() {
            frame.flash = Some(Flash::warning(
                "This link to revealed secrets was used or has expired; reveal again to see them (each reveal is audited).",
            ));
        }
        found
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
    fn a_reveal_link_works_once_for_its_session_only_until_it_expires() {
        let memory = ConsoleMemory::default();
        let now = Instant::now();
        let token = memory.reveal("s1", revealed(), now);
        assert!(memory.take_revealed("s2", &token, now).is_none());
        let got = memory.take_revealed("s1", &token, now).expect("revealed");
        assert_eq!(got.secrets[0].value.as_str(), "a,b c");
        assert!(memory.take_revealed("s1", &token, now).is_none());
        let token = memory.reveal("s1", revealed(), now);
        assert!(memory
            .take_revealed("s1", &token, now + REVEAL_TTL)
            .is_none());
        let other = memory.reveal("s1", revealed(), now);
        assert_ne!(token, other);
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
