//! A real browser for the one-click pages: Debian's headless Chromium driven over WebDriver
//! (chromedriver, plain HTTP), with screenshots kept in target/artefacts.

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: ureq::Agent,
}

/// Where the screenshots are kept (the test run's artefacts).
pub fn artefacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A plain HTTP client for the pages (what a link scanner or a script would send): statuses
/// are answers, not errors.
pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// Waits until `serve` answers on `base` (its `[web] public_url`).
pub fn wait_for_pages(http: &ureq::Agent, base: &str) {
    crate::util::wait_for(20, "the one-click pages", || {
        http.get(&format!("{base}/")).call().ok()
    });
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium session.
    pub fn start() -> Browser {
        let port = crate::util::free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (tests/run.sh installs chromium-driver)");
        let http = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build()
            .new_agent();
        let mut b = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            http,
        };
        let start = Instant::now();
        while b.http.get(&format!("{}/status", b.base)).call().is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let v = b.call(
            "POST",
            "/session",
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--window-size=900,900"]
                }
            }}})),
        );
        b.session = v["sessionId"].as_str().expect("a session").to_string();
        b
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let reply = match method {
            "GET" => self.http.get(&url).call(),
            "DELETE" => self.http.delete(&url).call(),
            _ => self
                .http
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(json!({})).to_string()),
        };
        let mut reply = reply.unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let text = reply.body_mut().read_to_string().unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert!(
            v["value"]["error"].is_null(),
            "WebDriver {method} {path}: {text}"
        );
        v["value"].clone()
    }

    fn at(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", &self.at("/url"), Some(json!({"url": url})));
    }

    /// The page's HTML as the browser has it now.
    pub fn source(&self) -> String {
        self.call("GET", &self.at("/source"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs `script` in the page and returns what it returns.
    pub fn execute(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.at("/execute/sync"),
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Types `text` into the first element `css` selects.
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call(
            "POST",
            &self.at(&format!("/element/{id}/value")),
            Some(json!({"text": text})),
        );
    }

    fn element(&self, css: &str) -> String {
        let el = self.call(
            "POST",
            &self.at("/element"),
            Some(json!({"using": "css selector", "value": css})),
        );
        el.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("the element")
            .to_string()
    }

    /// The page's HTML once it contains `needle` (a click's navigation may still be under way
    /// when the click returns), or as it is after 10 s.
    pub fn source_with(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.source();
            if s.contains(needle) || start.elapsed() > Duration::from_secs(10) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clicks the first element `css` selects.
    pub fn click(&self, css: &str) {
        let el = self.call(
            "POST",
            &self.at("/element"),
            Some(json!({"using": "css selector", "value": css})),
        );
        let id = el
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("the element")
            .to_string();
        self.call("POST", &self.at(&format!("/element/{id}/click")), None);
    }

    /// A screenshot of the page, kept as target/artefacts/NAME.png; its path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let b64 = self.call("GET", &self.at("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let path = artefacts().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .http
                .delete(&format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
