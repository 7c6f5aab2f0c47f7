//! A real headless Chromium, driven over WebDriver (`chromedriver` + `fantoccini`), for the
//! portal's browser tests.
//!
//! Debian's `chromium` and `chromium-driver` provide the two programs (`scripts/setup-browser`
//! installs them). Without them a test skips, unless `TRELLIS_REQUIRE_BROWSER` is set (as
//! `scripts/test` does): then it fails.
//!
//! ```ignore
//! let Some(browser) = Browser::start("end_user_deploys", &url) else { return };
//! browser.visit("/login");
//! browser.fill("Name", "eve");               // a label's text, or a CSS selector
//! browser.fill("#password", PASSWORD);
//! browser.click("Log in");                   // a button's or link's text, or a CSS selector
//! browser.wait_for_text("My deployments", Duration::from_secs(10));
//! assert_eq!(browser.count("table tbody tr"), 1);
//! ```
//!
//! The API, all blocking (tests are plain `#[test]` functions; do not call it from inside a
//! tokio runtime):
//! - [`Browser::start`]`(test name, base URL)`: chromedriver on a free port and one headless
//!   Chromium session, 1280 × 900, with a fresh profile; both end when the `Browser` is dropped.
//! - Navigation: [`visit`](Browser::visit) (a path under the base URL, or a whole URL),
//!   [`url`](Browser::url), [`title`](Browser::title), [`reload`](Browser::reload).
//! - Finding: every `target` is, in this order, the text of a `<label>` (or an `aria-label`) →
//!   its control; the text of a button, link or submit input; else a CSS selector. Finding
//!   waits up to [`FIND_TIMEOUT`] for the target to appear, then panics naming it.
//!   [`element`](Browser::element) gives the `fantoccini` element itself.
//! - Acting: [`fill`](Browser::fill) (clears, then types key by key; a `'\u{E007}'` in the text
//!   is the Enter key, `fantoccini::key::Key` names the others), [`click`](Browser::click),
//!   [`select`](Browser::select) (an `<option>` by its text), [`upload`](Browser::upload) (a
//!   file into an `<input type=file>`).
//! - Reading: [`text_of`](Browser::text_of), [`value_of`](Browser::value_of),
//!   [`count`](Browser::count), [`has_text`](Browser::has_text), [`html`](Browser::html),
//!   [`cookies`](Browser::cookies), [`cookie`](Browser::cookie).
//! - Waiting: [`wait_for_text`](Browser::wait_for_text), [`wait_for`](Browser::wait_for) (a
//!   CSS selector), [`wait_until`](Browser::wait_until) (a JavaScript condition).
//! - [`js`](Browser::js) runs a script (`arguments[0]`… are `args`) and returns its value;
//!   [`set_window_width`](Browser::set_window_width) resizes (390 for a phone);
//!   [`screenshot`](Browser::screenshot) gives a PNG; [`run`](Browser::run) awaits any other
//!   `fantoccini` call on [`client`](Browser::client).
//!
//! When a test panics while its `Browser` is alive, the `Browser`'s `Drop` saves
//! `screenshot.png` and `page.html` under `$CARGO_TARGET_TMPDIR/browser/<test name>/` and
//! prints where. The `Browser` owns the tokio runtime that drives `fantoccini`, which is what
//! lets that `Drop`, and every method, stay synchronous.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::cookies::Cookie;
use fantoccini::elements::{Element, ElementRef};
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

use super::{Process, free_port};

/// How long finding an element waits for it to appear.
pub const FIND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one WebDriver command may take before the test fails (a hung browser must not hang
/// the test run).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Chromium's flags on this kind of machine: headless as root in a container with no GPU, and
/// no background traffic (the network is closed, so each attempt would only fail and slow it).
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
];

/// Finds a control by its label, a button or link by its text, or an element by CSS selector,
/// in that order; `null` if there is none (yet).
const FIND_SCRIPT: &str = r#"
const target = arguments[0];
const text = node => (node.innerText || node.textContent || "").trim();
for (const label of document.querySelectorAll("label")) {
  const own = Array.from(label.childNodes).filter(n => n.nodeType === Node.TEXT_NODE)
    .map(n => n.textContent).join("").trim();
  if ((own === target || text(label) === target) && label.control) return label.control;
}
const labelled = document.querySelector(`[aria-label="${CSS.escape(target)}"]`);
if (labelled) return labelled;
for (const node of document.querySelectorAll("button, a, summary, [role=button]")) {
  if (text(node) === target) return node;
}
for (const node of document.querySelectorAll("input[type=submit], input[type=button]")) {
  if (node.value === target) return node;
}
try { return document.querySelector(target); } catch (e) { return null; }
"#;

/// The folder a test's failure screenshot and page go to.
pub fn artifacts_dir(test: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("browser")
        .join(test)
}

/// Whether `chromedriver` and `chromium` can be run. Without them: `false` (the test should
/// skip), or a failure when `TRELLIS_REQUIRE_BROWSER` is set.
pub fn installed() -> bool {
    let runs = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    let missing: Vec<&str> = ["chromedriver", "chromium"]
        .into_iter()
        .filter(|program| !runs(program))
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("TRELLIS_REQUIRE_BROWSER").is_none(),
        "TRELLIS_REQUIRE_BROWSER is set but {} cannot be run (scripts/setup-browser installs them)",
        missing.join(" and ")
    );
    eprintln!(
        "skipped: no {} (scripts/setup-browser installs them)",
        missing.join(" or ")
    );
    false
}

/// One headless Chromium session; see the module's documentation.
pub struct Browser {
    name: String,
    base: String,
    // Dropped in this order: the session (which ends Chromium), chromedriver, the profile.
    client: Option<Client>,
    runtime: tokio::runtime::Runtime,
    _driver: Process,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A browser for the test `name` (it names the failure folder), whose [`visit`](Self::visit)
    /// paths are under `base` (e.g. `http://127.0.0.1:8080`); `None` if it is not installed and
    /// not required.
    pub fn start(name: &str, base: &str) -> Option<Browser> {
        if !installed() {
            return None;
        }
        let port = free_port();
        let driver = Process(
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .spawn()
                .expect("starting chromedriver"),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "args": args },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let webdriver = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        // chromedriver answers once it listens; until then the connection is refused.
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let attempt = runtime.block_on(
                ClientBuilder::new(connector)
                    .capabilities(capabilities.clone())
                    .connect(&webdriver),
            );
            match attempt {
                Ok(client) => break client,
                Err(_) if started.elapsed() < Duration::from_secs(30) => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(error) => panic!("opening a Chromium session on chromedriver: {error}"),
            }
        };
        Some(Browser {
            name: name.to_string(),
            base: base.trim_end_matches('/').to_string(),
            client: Some(client),
            runtime,
            _driver: driver,
            _profile: profile,
        })
    }

    /// The `fantoccini` client, for what this API does not cover (await it with [`run`](Self::run)).
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("the session is open")
    }

    /// Awaits `future` on the browser's runtime, failing the test if it takes longer than a
    /// minute.
    pub fn run<T>(&self, future: impl Future<Output = T>) -> T {
        self.runtime
            .block_on(async { tokio::time::timeout(COMMAND_TIMEOUT, future).await })
            .unwrap_or_else(|_| panic!("the browser did not answer within {COMMAND_TIMEOUT:?}"))
    }

    /// Fills in and sends the portal's sign-in form, without waiting for what follows.
    pub fn send_sign_in(&self, name: &str, password: &str) {
        self.visit("/login");
        self.fill("User name", name);
        self.fill("Password", password);
        self.click("Sign in");
    }

    /// Signs `name` in to the portal and waits for the home page to greet them.
    pub fn sign_in(&self, name: &str, password: &str) {
        self.send_sign_in(name, password);
        self.wait_for_text(&format!("Welcome, {name}"), 3 * FIND_TIMEOUT);
    }

    /// Opens `path` under the base URL (or `path` itself when it is a whole URL) and waits for
    /// the page to load.
    pub fn visit(&self, path: &str) {
        let url = if path.contains("://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        self.run(self.client().goto(&url))
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    pub fn url(&self) -> String {
        self.run(self.client().current_url()).unwrap().to_string()
    }

    pub fn title(&self) -> String {
        self.run(self.client().title()).unwrap()
    }

    pub fn reload(&self) {
        self.run(self.client().refresh()).unwrap();
    }

    /// Runs `script` as a function body (`arguments[0]`… are `args`) and gives back what it
    /// returns.
    pub fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.run(self.client().execute(script, args))
            .unwrap_or_else(|e| panic!("running script {script:?}: {e}"))
    }

    /// The element `target` names (see the module's documentation), waiting for it to appear.
    pub fn element(&self, target: &str) -> Element {
        let started = Instant::now();
        loop {
            let found = self.js(FIND_SCRIPT, vec![json!(target)]);
            // An element comes back as `{"element-6066-…": "<id>"}`.
            if let Some(id) = found
                .as_object()
                .and_then(|o| o.values().next())
                .and_then(Value::as_str)
            {
                return Element::from_element_id(
                    self.client().clone(),
                    ElementRef::from(id.to_string()),
                );
            }
            assert!(
                started.elapsed() < FIND_TIMEOUT,
                "no label, button, link or element {target:?} on {} within {FIND_TIMEOUT:?}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Replaces the value of the control `target` with `text`, typed key by key.
    pub fn fill(&self, target: &str, text: &str) {
        let element = self.element(target);
        self.run(async {
            element.clear().await?;
            element.send_keys(text).await
        })
        .unwrap_or_else(|e| panic!("filling {target:?}: {e}"));
    }

    pub fn click(&self, target: &str) {
        let element = self.element(target);
        self.run(element.click())
            .unwrap_or_else(|e| panic!("clicking {target:?}: {e}"));
    }

    /// Chooses the `<option>` whose text is `option` in the `<select>` `target`.
    pub fn select(&self, target: &str, option: &str) {
        let element = self.element(target);
        self.run(element.select_by_label(option))
            .unwrap_or_else(|e| panic!("choosing {option:?} in {target:?}: {e}"));
    }

    /// Puts `file` into the file input `target`, as choosing it in the file dialog would.
    pub fn upload(&self, target: &str, file: &Path) {
        let file = file
            .canonicalize()
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let element = self.element(target);
        self.run(element.send_keys(&file.to_string_lossy()))
            .unwrap_or_else(|e| panic!("uploading {} into {target:?}: {e}", file.display()));
    }

    /// The visible text of `target`.
    pub fn text_of(&self, target: &str) -> String {
        let element = self.element(target);
        self.run(element.text()).unwrap()
    }

    /// The current `value` of the control `target`.
    pub fn value_of(&self, target: &str) -> String {
        let element = self.element(target);
        self.run(element.prop("value")).unwrap().unwrap_or_default()
    }

    /// How many elements match the CSS `selector` now (no waiting).
    pub fn count(&self, selector: &str) -> usize {
        self.js(
            "return document.querySelectorAll(arguments[0]).length",
            vec![json!(selector)],
        )
        .as_u64()
        .unwrap() as usize
    }

    /// Whether the page's visible text contains `text` now.
    pub fn has_text(&self, text: &str) -> bool {
        self.js(
            "return !!document.body && document.body.innerText.includes(arguments[0])",
            vec![json!(text)],
        ) == json!(true)
    }

    /// Waits until the page's visible text contains `text`.
    pub fn wait_for_text(&self, text: &str, timeout: Duration) {
        self.poll(timeout, &format!("the text {text:?}"), || {
            self.has_text(text)
        });
    }

    /// Waits until an element matches the CSS `selector`.
    pub fn wait_for(&self, selector: &str, timeout: Duration) {
        self.poll(timeout, &format!("an element {selector:?}"), || {
            self.count(selector) > 0
        });
    }

    /// Waits until the JavaScript expression `condition` is true.
    pub fn wait_until(&self, condition: &str, timeout: Duration) {
        let script = format!("return !!({condition})");
        self.poll(timeout, condition, || {
            self.js(&script, vec![]) == json!(true)
        });
    }

    fn poll(&self, timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
        let started = Instant::now();
        while !done() {
            assert!(
                started.elapsed() < timeout,
                "gave up after {timeout:?} waiting for {what} on {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Makes the window `width` CSS pixels wide (390 for a phone), keeping its height.
    pub fn set_window_width(&self, width: u32) {
        let (_, height) = self.run(self.client().get_window_size()).unwrap();
        self.run(self.client().set_window_size(width, height as u32))
            .unwrap();
    }

    /// Every cookie the page can see from WebDriver (HttpOnly ones too).
    pub fn cookies(&self) -> Vec<Cookie<'static>> {
        self.run(self.client().get_all_cookies()).unwrap()
    }

    pub fn cookie(&self, name: &str) -> Option<Cookie<'static>> {
        self.cookies().into_iter().find(|c| c.name() == name)
    }

    /// The page's current HTML (the DOM as it is now, scripts' changes included).
    pub fn html(&self) -> String {
        self.run(self.client().source()).unwrap()
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Vec<u8> {
        self.run(self.client().screenshot()).unwrap()
    }

    /// Writes `screenshot.png` and `page.html` of the page as it is into `dir`; returns their
    /// paths.
    pub fn save_page(&self, dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(dir)?;
        let client = self.client();
        let (png, html) = self
            .runtime
            .block_on(async {
                tokio::time::timeout(COMMAND_TIMEOUT, async {
                    (client.screenshot().await, client.source().await)
                })
                .await
            })
            .map_err(|_| std::io::Error::other("the browser did not answer"))?;
        let screenshot = dir.join("screenshot.png");
        let page = dir.join("page.html");
        std::fs::write(&screenshot, png.map_err(std::io::Error::other)?)?;
        std::fs::write(&page, html.map_err(std::io::Error::other)?)?;
        Ok((screenshot, page))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let dir = artifacts_dir(&self.name);
            match self.save_page(&dir) {
                Ok((screenshot, page)) => eprintln!(
                    "browser: the page at the failure is in {} and {}",
                    screenshot.display(),
                    page.display()
                ),
                Err(error) => eprintln!("browser: could not save the page at the failure: {error}"),
            }
        }
        // Ending the session quits Chromium; killing chromedriver alone would leave it running.
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(10), client.close()).await
            });
        }
    }
}
