//! Checks on the page a [`Browser`] shows: axe-core's accessibility rules, the viewport's
//! width and overflow, keyboard focus, screenshots.
//!
//! axe-core is the npm package `scripts/test-deps` installs into the repository's
//! `.cache/axe` (pinned there); [`Browser::axe_violations`] injects its `axe.min.js` into the
//! page and runs it.

use std::path::PathBuf;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::Value;

use crate::browser::Browser;

/// Where `scripts/test-deps` installs axe-core's browser script.
pub fn axe_script_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../.cache/axe/node_modules/axe-core/axe.min.js")
}

/// One rule of axe-core's that the page breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AxeViolation {
    /// The rule (`color-contrast`, `label`, …).
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: String,
    /// What the rule asks for, in a sentence.
    pub help: String,
    /// The offending elements: their CSS selector and markup (shortened).
    pub nodes: Vec<String>,
}

impl AxeViolation {
    /// Whether axe rates it `serious` or `critical`.
    pub fn is_serious(&self) -> bool {
        matches!(self.impact.as_str(), "serious" | "critical")
    }
}

/// The element that has the keyboard focus, as the page sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Focused {
    /// Its tag name, lower case (`body` when nothing has the focus).
    pub tag: String,
    /// Its id, empty if it has none.
    pub id: String,
    /// Its text or accessible label, shortened.
    pub label: String,
    /// Whether a focus indicator is drawn: a visible outline or box shadow.
    pub visible_focus: bool,
}

const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] })
  .then(r => done(JSON.stringify(r.violations.map(v => ({
    id: v.id, impact: v.impact || '', help: v.help,
    nodes: v.nodes.map(n => n.target.join(' ') + ' ' + n.html.slice(0, 160)) })))))
  .catch(e => done('error: ' + e));
"#;

const FOCUSED: &str = r#"
const el = document.activeElement || document.body;
const s = getComputedStyle(el);
const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
const shadow = s.boxShadow && s.boxShadow !== 'none';
const label = (el.getAttribute('aria-label') || el.innerText || el.value || el.name || '').trim().slice(0, 60);
return { tag: el.tagName.toLowerCase(), id: el.id || '', label: label, visible: !!(outline || shadow) };
"#;

impl Browser {
    /// Runs axe-core's checks on the current page and returns every violation.
    ///
    /// # Panics
    /// If axe-core is not installed (run `scripts/test-deps`) or does not run.
    pub async fn axe_violations(&self) -> Vec<AxeViolation> {
        let path = axe_script_path();
        let script = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "axe-core's script {} is missing ({e}): run scripts/test-deps",
                path.display()
            )
        });
        self.client()
            .execute(&format!("{script}\n;return typeof axe;"), vec![])
            .await
            .unwrap_or_else(|e| panic!("injecting axe-core: {e}"));
        let answer = self
            .client()
            .execute_async(AXE_RUN, vec![])
            .await
            .unwrap_or_else(|e| panic!("running axe-core: {e}"));
        let text = answer.as_str().unwrap_or_default();
        let list: Vec<Value> = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("axe-core answered {text:?}: {e}"));
        let field = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
        list.iter()
            .map(|v| AxeViolation {
                id: field(v, "id"),
                impact: field(v, "impact"),
                help: field(v, "help"),
                nodes: v["nodes"]
                    .as_array()
                    .map(|n| {
                        n.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// Resizes the window so that the page's viewport is `width` CSS pixels wide (a phone is
    /// 390); returns the viewport's width as the page then sees it.
    pub async fn set_viewport_width(&self, width: u32, height: u32) -> u64 {
        self.client()
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("resizing the window: {e}"));
        // The window's frame is not part of the viewport: grow the window by the difference.
        let inner = self.eval_u64("return window.innerWidth;").await;
        if inner < u64::from(width) {
            let frame = u32::try_from(u64::from(width) - inner).unwrap_or(0);
            self.client()
                .set_window_size(width + frame, height)
                .await
                .unwrap_or_else(|e| panic!("resizing the window: {e}"));
        }
        self.eval_u64("return window.innerWidth;").await
    }

    /// The page's scroll width and the viewport's width: a page wider than its viewport
    /// scrolls sideways.
    pub async fn page_and_viewport_width(&self) -> (u64, u64) {
        let page = self
            .eval_u64("return document.documentElement.scrollWidth;")
            .await;
        let viewport = self.eval_u64("return window.innerWidth;").await;
        (page, viewport)
    }

    /// Presses and releases Tab, as a keyboard does: the focus moves to the next element.
    pub async fn press_tab(&self) {
        let tab = char::from(Key::Tab);
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: tab })
            .then(KeyAction::Up { value: tab });
        self.client()
            .perform_actions(keys)
            .await
            .unwrap_or_else(|e| panic!("pressing Tab: {e}"));
    }

    /// The element that now has the keyboard focus.
    pub async fn focused(&self) -> Focused {
        let v = self
            .client()
            .execute(FOCUSED, vec![])
            .await
            .unwrap_or_else(|e| panic!("reading the focused element: {e}"));
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        Focused {
            tag: s("tag"),
            id: s("id"),
            label: s("label"),
            visible_focus: v["visible"].as_bool().unwrap_or(false),
        }
    }

    /// A PNG of the whole viewport.
    pub async fn screenshot_png(&self) -> Vec<u8> {
        self.client()
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("taking a screenshot: {e}"))
    }

    async fn eval_u64(&self, script: &str) -> u64 {
        let v = self
            .client()
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("running {script:?}: {e}"));
        v.as_u64()
            .unwrap_or_else(|| panic!("{script:?} answered {v}, not a whole number"))
    }
}
