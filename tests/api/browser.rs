//! The lab page in a real browser: headless Chromium driven over WebDriver (fantoccini), on
//! both backends, over a seeded shop.
//!
//! Chromium and chromedriver come from `MERCADO_CHROMIUM` / `MERCADO_CHROMEDRIVER`, or from
//! `PATH` (`chromium`, `chromium-browser` or `google-chrome`; `chromedriver`). When they are
//! not there the tests say so in one line and skip, unless `MERCADO_REQUIRE_BROWSER=1` (as in
//! CI), when they fail. `MERCADO_LAB_SCREENSHOTS=docs` saves the pictures the docs show.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::helpers::TestApp;

/// A headless Chromium behind its own chromedriver, with a runtime to drive it from a
/// synchronous test.
struct Browser {
    client: Client,
    driver: Child,
    runtime: tokio::runtime::Runtime,
    profile: PathBuf,
}

fn find(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium, or `None` (after one line on
    /// stderr) when they are not installed and not required.
    fn start() -> Option<Browser> {
        let chromium = find(
            "MERCADO_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let driver = find("MERCADO_CHROMEDRIVER", &["chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            if std::env::var("MERCADO_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!("MERCADO_REQUIRE_BROWSER=1 but chromium or chromedriver is not installed");
            }
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "chromium/chromedriver not found: skipping the browser tests of the lab (set MERCADO_REQUIRE_BROWSER=1 to fail instead)"
                );
            });
            return None;
        };

        let port = free_port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let status = format!("http://127.0.0.1:{port}/status");
        let ready = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(50));
            ureq::get(&status).call().is_ok()
        });
        assert!(ready, "chromedriver did not start");

        let profile = std::env::temp_dir().join(format!("mercado-chromium-{port}"));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_string(),
            json!({
                "binary": chromium,
                // Headless, as root in a container, and quiet: without the networking flags
                // Chromium tries to reach Google's services at every start.
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-quic",
                    "--window-size=1280,1400",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let client = runtime
            .block_on(
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(capabilities)
                    .connect(&format!("http://127.0.0.1:{port}")),
            )
            .expect("a WebDriver session");
        Some(Browser {
            client,
            driver,
            runtime,
            profile,
        })
    }

    fn goto(&self, url: &str) {
        self.runtime.block_on(self.client.goto(url)).expect("open");
    }

    /// Runs `script` in the page and returns its value.
    fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.runtime
            .block_on(self.client.execute(script, args))
            .unwrap_or_else(|err| panic!("{script}: {err}"))
    }

    fn text(&self, id: &str) -> String {
        self.js(
            "return document.getElementById(arguments[0]).textContent",
            vec![json!(id)],
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    fn click(&self, id: &str) {
        self.runtime
            .block_on(async { self.client.find(Locator::Id(id)).await?.click().await })
            .unwrap_or_else(|err| panic!("click #{id}: {err}"));
    }

    /// Waits until `script` returns true, for up to a minute.
    fn wait_for(&self, what: &str, script: &str) {
        let started = Instant::now();
        while self.js(script, vec![]) != json!(true) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "waited for {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Chooses a strategy and a page size, presses Run, and waits for the page to finish.
    fn run(&self, strategy: &str, limit: u32) {
        self.js(
            "document.getElementById('strategy').value = arguments[0];\
             document.getElementById('limit').value = arguments[1];\
             document.body.dataset.state = 'asked';",
            vec![json!(strategy), json!(limit)],
        );
        self.click("run-button");
        self.wait_for(
            "the run",
            "return ['done', 'failed'].includes(document.body.dataset.state)",
        );
        assert_eq!(
            self.text("run-error"),
            "",
            "{strategy} at {limit} failed on the page"
        );
    }

    fn screenshot(&self, element: &str, file: &Path) {
        // Element screenshots only see what is in the viewport.
        self.js(
            "document.getElementById(arguments[0]).scrollIntoView()",
            vec![json!(element)],
        );
        let png = self
            .runtime
            .block_on(async {
                self.client
                    .find(Locator::Id(element))
                    .await?
                    .screenshot()
                    .await
            })
            .expect("a screenshot");
        std::fs::write(file, png).expect("write the screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.runtime.block_on(self.client.clone().close());
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Where to save the docs' pictures, when asked to.
fn screenshots_dir() -> Option<PathBuf> {
    std::env::var_os("MERCADO_LAB_SCREENSHOTS").map(PathBuf::from)
}

fn lab(app: &TestApp) -> Option<Browser> {
    let browser = Browser::start()?;
    browser.goto(&app.url("/lab"));
    browser.wait_for(
        "the page's script",
        "return document.body.dataset.state === 'ready'",
    );
    Some(browser)
}

both_backends! {
    fn the_waterfall_has_one_bar_per_statement_and_the_code_that_sent_them(app) {
        app.seed(120, 4, 7);
        let Some(browser) = lab(app) else { return };

        browser.run("n-plus-one", 100);
        let staircase = app.get("/dashboard/n-plus-one?limit=100").query_count();
        let bars: usize = browser.js("return Number(document.getElementById('waterfall').dataset.bars)", vec![])
            .as_u64().unwrap() as usize;
        let shown: usize = browser.text("query-count").replace(',', "").parse().unwrap();
        let code = browser.text("code-text");
        let plans = browser.js("return document.querySelectorAll('#plans article').length", vec![]);
        if let Some(dir) = screenshots_dir() {
            if app.backend == mercado::db::Backend::Sqlite {
                browser.screenshot("waterfall-section", &dir.join("lab-waterfall.png"));
            }
        }
        browser.run("batched", 100);
        let batched_bars = browser.js("return document.getElementById('waterfall').dataset.bars", vec![]);

        assert!(staircase > 100, "a real staircase: {staircase}");
        assert_eq!(shown, staircase, "the page shows the request's X-Query-Count");
        assert_eq!(bars, staircase, "one bar per statement");
        assert!(code.contains("pub fn n_plus_one("), "{code}");
        assert!(code.contains("DELIBERATELY BAD"), "{code}");
        assert_eq!(plans, json!(3), "a plan for each of the three statements");
        assert_eq!(batched_bars, json!("3"));
        assert_eq!(browser.text("query-count"), "3");
        assert!(browser.text("code-text").contains("pub fn batched("));
    }

    fn the_comparison_shows_the_four_strategies_with_the_api_s_counts(app) {
        app.seed(1_000, 3, 11);
        let Some(browser) = lab(app) else { return };

        browser.click("compare-button");
        browser.wait_for(
            "the comparison",
            "return document.querySelectorAll('#compare-table tbody tr').length === 12",
        );
        let rows = browser.js(
            "return [...document.querySelectorAll('#compare-table tbody tr')]\
               .map(r => [r.dataset.strategy, Number(r.dataset.limit), Number(r.dataset.statements),\
                          Number(r.querySelector('.rows-moved').textContent.replaceAll(',', ''))])",
            vec![],
        );
        let charted = browser.js(
            "return ['compare-statements', 'compare-ms']\
               .map(id => document.getElementById(id).dataset.strategies)",
            vec![],
        );
        browser.js(
            "const rtt = document.getElementById('rtt'); rtt.value = 6;\
             rtt.dispatchEvent(new Event('input'));",
            vec![],
        );
        if let Some(dir) = screenshots_dir() {
            if app.backend == mercado::db::Backend::Sqlite {
                browser.screenshot("compare-section", &dir.join("lab-compare.png"));
            }
        }

        assert_eq!(charted, json!(["4", "4"]), "both charts draw the four strategies");
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 12);
        for row in rows {
            let (strategy, limit, statements) =
                (row[0].as_str().unwrap(), row[1].as_u64().unwrap(), row[2].as_u64().unwrap());
            let api = app.get(&format!("/dashboard/{strategy}?limit={limit}")).query_count();
            assert_eq!(statements as usize, api, "{strategy} at {limit}");
            let moved = app.get(&format!("/_debug/explain/{strategy}?limit={limit}")).json()["rows"].clone();
            assert_eq!(row[3], moved, "rows moved by {strategy} at {limit}");
        }
    }

    fn what_customers_typed_is_shown_as_text_and_never_run(app) {
        let attack = "<img src=x onerror=\"window.pwned=1\">";
        app.seed(5, 1, 3);
        let res = app.post("/customers", json!({
            "first_name": attack, "last_name": "Tables", "email": "bobby@example.com",
        }));
        assert_eq!(res.status, 201, "{}", res.body);
        let Some(browser) = lab(app) else { return };

        browser.run("n-plus-one", 100);
        let names = browser.js(
            "return [...document.querySelectorAll('#rows td.name')].map(td => td.textContent)",
            vec![],
        );
        let pwned = browser.js("return window.pwned === undefined", vec![]);
        let images = browser.js("return document.querySelectorAll('main img').length", vec![]);

        assert!(
            names.as_array().unwrap().iter().any(|n| n == &json!(format!("{attack} Tables"))),
            "the name is shown as typed: {names}"
        );
        assert_eq!(pwned, json!(true), "its onerror never ran");
        assert_eq!(images, json!(0), "no element was made from it");
    }
}
