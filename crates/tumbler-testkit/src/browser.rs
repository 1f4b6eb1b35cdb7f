//! Headless Chromium driven through chromedriver with fantoccini.
//!
//! Debian's `/usr/bin/chromium` and `/usr/bin/chromedriver`; chromedriver
//! listens on a free loopback port and is killed on `Drop`. As root the whole
//! tree (chromedriver and every Chromium process) lives in its own PID
//! namespace, so killing chromedriver, or the test dying, takes Chromium down
//! with it.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::ports::free_port;
use crate::util::{contained_command, poll_until, ChildGuard};

/// The Chromium binary.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The chromedriver binary.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Chromium's arguments besides `--user-data-dir`: what a root user on a
/// machine without internet needs.
pub const CHROME_ARGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
];
/// How long the helpers wait for an element to appear.
pub const ELEMENT_WAIT: Duration = Duration::from_secs(10);
/// How long chromedriver may take to be ready.
const READY_WITHIN: Duration = Duration::from_secs(20);
/// How long opening the browser session may take.
const SESSION_WITHIN: Duration = Duration::from_secs(60);
/// How many ports to try if the chosen one was taken meanwhile.
const START_ATTEMPTS: usize = 3;

/// A headless Chromium session; chromedriver and Chromium die on `Drop`.
#[derive(Debug)]
pub struct Browser {
    client: Client,
    driver: ChildGuard,
    port: u16,
    dir: TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a Chromium session with a
    /// fresh profile directory.
    ///
    /// # Panics
    /// If chromedriver does not become ready within 20 seconds or the session
    /// cannot be opened within 60; the message includes chromedriver's log.
    pub async fn start() -> Self {
        Self::start_inner(None, None).await
    }

    /// Like [`Browser::start`], with `HOME` set to `home` for chromedriver and
    /// Chromium: Chromium on Linux reads its NSS database (trusted CAs, client
    /// certificates) from `$HOME/.pki/nssdb`.
    ///
    /// # Panics
    /// As [`Browser::start`].
    pub async fn start_with_home(home: &std::path::Path) -> Self {
        Self::start_inner(Some(home), None).await
    }

    /// Like [`Browser::start`], with the viewer in the IANA time zone `zone`
    /// (`America/New_York`): chromedriver and Chromium run with `TZ` set to it,
    /// so pages' scripts see that zone as the local one.
    ///
    /// # Panics
    /// As [`Browser::start`].
    pub async fn start_in_zone(zone: &str) -> Self {
        Self::start_inner(None, Some(zone)).await
    }

    async fn start_inner(home: Option<&std::path::Path>, zone: Option<&str>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tumbler-browser-")
            .tempdir()
            .expect("create a temporary directory for the browser");
        let log_path = dir.path().join("chromedriver.log");
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let mut cmd = contained_command(CHROMEDRIVER, None);
            cmd.arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log_path.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some(home) = home {
                cmd.env("HOME", home);
            }
            if let Some(zone) = zone {
                cmd.env("TZ", zone);
            }
            let mut driver = ChildGuard::spawn(cmd, "chromedriver");
            let ready = poll_until(READY_WITHIN, || {
                let exited = driver.exited();
                async move {
                    if let Some(why) = exited {
                        return Some(Err(why));
                    }
                    driver_ready(port).await.then_some(Ok(()))
                }
            })
            .await;
            match ready {
                Some(Ok(())) => {
                    let client = open_session(port, &dir, &log_path).await;
                    return Self {
                        client,
                        driver,
                        port,
                        dir,
                    };
                }
                Some(Err(why)) => failures.push(format!("port {port}: {why}")),
                None => failures.push(format!("port {port}: not ready after {READY_WITHIN:?}")),
            }
        }
        panic!(
            "chromedriver did not start ({}).\n{}",
            failures.join("; "),
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
    }

    /// The WebDriver client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// chromedriver's port on 127.0.0.1.
    pub fn driver_port(&self) -> u16 {
        self.port
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("browser could not load {url}: {e}"));
    }

    /// The URL of the current page.
    pub async fn current_url(&self) -> String {
        self.client
            .current_url()
            .await
            .unwrap_or_else(|e| panic!("browser current URL: {e}"))
            .to_string()
    }

    /// Waits until the page's URL is no longer `from` (a form's post/redirect/get has
    /// landed), and returns the new URL.
    ///
    /// # Panics
    /// If the URL does not change within `within`.
    pub async fn wait_for_url_change(&self, from: &str, within: Duration) -> String {
        let changed = poll_until(within, || async move {
            let now = self.client.current_url().await.ok()?.to_string();
            (now != from).then_some(now)
        })
        .await;
        changed.unwrap_or_else(|| panic!("the page stayed at {from} for {within:?}"))
    }

    /// Waits (up to [`ELEMENT_WAIT`]) for the first element matching `css`.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(ELEMENT_WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css:?} within {ELEMENT_WAIT:?}: {e}"))
    }

    /// Replaces the value of the input matching `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        element
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clearing {css:?}: {e}"));
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {css:?}: {e}"));
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css:?}: {e}"));
    }

    /// The current page's markup as the browser holds it now (after its scripts ran).
    pub async fn source(&self) -> String {
        self.client
            .source()
            .await
            .unwrap_or_else(|e| panic!("browser page source: {e}"))
    }

    /// The rendered text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {css:?}: {e}"))
    }

    /// Waits until the element matching `css` exists and its text contains
    /// `text`; returns the element's whole text.
    ///
    /// # Panics
    /// If that does not happen within `within`; says what the text was.
    pub async fn wait_for_text(&self, css: &str, text: &str, within: Duration) -> String {
        let last = std::cell::RefCell::new(None::<String>);
        let found = poll_until(within, || {
            let last = &last;
            async move {
                let element = self.client.find(Locator::Css(css)).await.ok()?;
                let current = element.text().await.ok()?;
                let hit = current.contains(text);
                *last.borrow_mut() = Some(current.clone());
                hit.then_some(current)
            }
        })
        .await;
        found.unwrap_or_else(|| {
            panic!(
                "element {css:?} did not contain {text:?} within {within:?} (last text: {:?})",
                last.borrow()
            )
        })
    }

    /// Ends the WebDriver session politely, then stops chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        self.driver.kill();
    }

    /// The browser's temporary directory (profile and chromedriver log).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.driver.kill();
    }
}

/// Whether chromedriver on `port` answers `GET /status` with `ready: true`.
async fn driver_ready(port: u16) -> bool {
    let probe = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        stream
            .write_all(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        // chromedriver keeps the connection open despite `Connection: close`:
        // read until the answer is in, not until end of stream.
        let mut response = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return Some(false);
            }
            response.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&response);
            let compact = text.replace(' ', "");
            if compact.contains("\"ready\":true") {
                return Some(text.starts_with("HTTP/1.1 200 "));
            }
            if compact.contains("\"ready\":false") {
                return Some(false);
            }
        }
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), probe).await,
        Ok(Some(true))
    )
}

async fn open_session(port: u16, dir: &TempDir, log_path: &std::path::Path) -> Client {
    let profile = dir.path().join("profile");
    let mut args: Vec<String> = CHROME_ARGS.iter().map(|a| (*a).to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut capabilities = fantoccini::wd::Capabilities::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": CHROMIUM, "args": args }),
    );
    let mut builder = ClientBuilder::new(HttpConnector::new());
    builder.capabilities(capabilities);
    let url = format!("http://127.0.0.1:{port}");
    match tokio::time::timeout(SESSION_WITHIN, builder.connect(&url)).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => panic!(
            "chromedriver could not open a Chromium session: {e}\n{}",
            std::fs::read_to_string(log_path).unwrap_or_default()
        ),
        Err(_) => panic!("opening a Chromium session took more than {SESSION_WITHIN:?}"),
    }
}
