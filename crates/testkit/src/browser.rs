//! A real headless Chromium (Debian's `chromium` and `chromium-driver`), driven through
//! WebDriver by `fantoccini`. Each browser gets its own ChromeDriver on a free port and a
//! new empty profile; both go away on drop.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};

use crate::{free_port, require_program};

pub const CHROMIUM_PACKAGES: &str = "chromium chromium-driver";

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium with a `width`x`height` window.
    pub async fn start(width: u32, height: u32) -> Self {
        Self::start_with_language(width, height, "en-US").await
    }

    /// The same, with the browser's language (`navigator.language`) set to `language`.
    pub async fn start_with_language(width: u32, height: u32, language: &str) -> Self {
        require_program("/usr/bin/chromium", &["--version"], CHROMIUM_PACKAGES);
        require_program("/usr/bin/chromedriver", &["--version"], CHROMIUM_PACKAGES);
        let port = free_port();
        // Headless Chromium on Linux takes `navigator.language` from the environment it
        // inherits and from `--accept-lang`; `--lang` alone is not enough.
        let locale = language.replace('-', "_");
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .env("LANGUAGE", &locale)
            .env("LANG", format!("{locale}.UTF-8"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("a profile folder");
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            format!("--window-size={width},{height}"),
            format!("--lang={language}"),
            format!("--accept-lang={language}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), serde_json::json!({"binary": "/usr/bin/chromium", "args": args}));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("cannot start a Chromium session through chromedriver: {e}"),
            }
        };
        Self { client, driver, _profile: profile }
    }

    /// Saves a screenshot (PNG) to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.expect("take a screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot folder");
        }
        std::fs::write(path, png).expect("write the screenshot");
    }

    /// Evaluates `script` (a function body; `return` a value) until it returns something
    /// other than `null`/`false`, or panics after `timeout` naming `what`.
    pub async fn wait_for(&self, what: &str, timeout: Duration, script: &str) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.client.execute(script, vec![]).await.unwrap_or(serde_json::Value::Null);
            if !v.is_null() && v != serde_json::Value::Bool(false) {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Fails with what to install unless a Chinese font is installed: without one, Chromium
/// draws Chinese text as empty boxes and a screenshot shows nothing of it.
pub fn require_cjk_font() {
    let families = std::process::Command::new("fc-list")
        .args([":lang=zh", "family"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(
        !families.trim().is_empty(),
        "this test needs a Chinese font: install the Debian package fonts-noto-cjk (.ci/run does)"
    );
}
