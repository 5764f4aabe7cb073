//! The test harness: `spawn_app(backend)` starts the real server on port 0 against a fresh
//! database of its own, and `TestApp` sends requests to it.
//!
//! - SQLite: a new file in the temp directory, removed (with its WAL files) on drop.
//! - PostgreSQL: a uniquely named database created through `MERCADO_TEST_PG_URL` (default
//!   `postgres://postgres@127.0.0.1:5432/postgres`) and dropped on drop, also when the test
//!   panics. With no PostgreSQL reachable the PostgreSQL half prints one line and skips,
//!   unless `MERCADO_REQUIRE_PG=1`, when it fails.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use mercado::config::Config;
use mercado::db::{self, Backend, DbConnection, DbPool, DbTarget};
use serde_json::{json, Value};
use ureq::http;

/// Runs one test body on one backend. The `both_backends!` macro calls this twice.
pub fn run_test(backend: Backend, body: fn(&TestApp)) {
    if let Some(app) = spawn_app(backend) {
        body(&app);
    }
}

/// Declares tests that run once on SQLite and once on PostgreSQL from one body:
/// `both_backends! { fn name(app) { ... } }` becomes `name::sqlite` and `name::postgresql`.
macro_rules! both_backends {
    ($( $(#[doc = $doc:literal])* fn $name:ident($app:ident) $body:block )*) => {$(
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn body($app: &$crate::helpers::TestApp) $body

            #[test]
            fn sqlite() {
                $crate::helpers::run_test(mercado::db::Backend::Sqlite, body)
            }

            #[test]
            fn postgresql() {
                $crate::helpers::run_test(mercado::db::Backend::Postgresql, body)
            }
        }
    )*};
}

pub struct TestApp {
    pub address: String,
    pub backend: Backend,
    pub pool: DbPool,
    agent: ureq::Agent,
    server: Option<(ServerHandle, JoinHandle<()>)>,
    // Held only to be dropped, and declared last so it drops last: see `Drop for TestApp`.
    _database: Option<TestDatabase>,
}

/// A fresh, migrated database, removed when dropped.
pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Database { admin_url: String, name: String },
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "mercado_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

pub fn pg_admin_url() -> String {
    std::env::var("MERCADO_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// An admin connection to PostgreSQL, or `None` (after one line on stderr) when it is not
/// reachable and not required.
pub fn pg_admin() -> Option<PgConnection> {
    let url = pg_admin_url();
    match PgConnection::establish(&url) {
        Ok(conn) => Some(conn),
        Err(err) => {
            if std::env::var("MERCADO_REQUIRE_PG").as_deref() == Ok("1") {
                panic!("MERCADO_REQUIRE_PG=1 but PostgreSQL is not reachable at {url}: {err}");
            }
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                // Straight to stderr: the test harness captures `eprintln!`, not this.
                let _ = writeln!(
                    std::io::stderr(),
                    "PostgreSQL not reachable at {url}: skipping the PostgreSQL half of the tests (set MERCADO_REQUIRE_PG=1 to fail instead)"
                );
            });
            None
        }
    }
}

impl TestDatabase {
    /// A fresh database with every migration applied.
    pub fn create(backend: Backend) -> Option<TestDatabase> {
        let db = TestDatabase::create_empty(backend)?;
        let mut conn = db.connect();
        db::migrate(&mut conn).expect("migrations apply");
        Some(db)
    }

    /// A fresh database with no tables at all.
    pub fn create_empty(backend: Backend) -> Option<TestDatabase> {
        let name = unique_name();
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                Some(TestDatabase {
                    url: path.to_string_lossy().into_owned(),
                    cleanup: Cleanup::File(path),
                })
            }
            Backend::Postgresql => {
                let mut admin = pg_admin()?;
                admin
                    .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                    .expect("create the test database");
                let admin_url = pg_admin_url();
                Some(TestDatabase {
                    url: db::with_database_name(&admin_url, &name),
                    cleanup: Cleanup::Database { admin_url, name },
                })
            }
        }
    }

    pub fn target(&self) -> DbTarget {
        DbTarget::parse(&self.url).expect("a valid test URL")
    }

    pub fn connect(&self) -> DbConnection {
        db::establish(&self.target()).expect("connect to the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(mut admin) = PgConnection::establish(admin_url) {
                    // FORCE (PostgreSQL 13+) ends any connection a failed test left open.
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
                }
            }
        }
    }
}

/// What one run of the `mercado` binary did.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the `mercado` binary with `args` against `database_url`, as a user would.
pub fn mercado(database_url: &str, args: &[&str]) -> Run {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mercado"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run mercado");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A request body for every route of `app::endpoints` that takes one, unique to `round` where
/// a value must be (emails, skus). A route added to the table without a body here fails the
/// tests that walk the table, so a new route cannot escape them.
pub fn body_for(method: &str, pattern: &str, round: u32, customer: i64) -> Option<Value> {
    let body = match (method, pattern) {
        ("GET" | "DELETE", _) => return None,
        ("POST", "/customers/bulk") => json!([
            {"first_name": "Bulk", "last_name": "One", "email": format!("bulk.1.{round}@example.com")},
            {"first_name": "Bulk", "last_name": "Two", "email": format!("bulk.2.{round}@example.com")},
        ]),
        ("POST", "/customers") => {
            json!({"first_name": "S", "last_name": "T", "email": format!("new.{round}@example.com")})
        }
        ("PATCH", "/customers/{id}") => json!({"last_name": "Patched"}),
        ("POST", "/categories") => json!({"name": "New", "parent_id": 1}),
        ("PATCH", "/categories/{id}") => json!({"name": "Renamed", "parent_id": 2}),
        ("POST", "/products") => {
            json!({"sku": format!("NEW-{round}"), "name": "New", "category_id": 1, "unit_price_cents": 100})
        }
        ("PATCH", "/products/{id}") => json!({"unit_price_cents": 4321}),
        ("POST", "/orders/bulk-status") => json!({"from_status": "pending", "to_status": "paid"}),
        ("POST", "/orders") => {
            json!({"customer_id": customer, "items": [{"product_id": 1, "quantity": 1}, {"product_id": 2, "quantity": 3}]})
        }
        ("PATCH", "/orders/{id}") => json!({"status": "cancelled"}),
        _ => panic!("no request body for {method} {pattern}: add one to helpers.rs's body_for"),
    };
    Some(body)
}

/// Settings with every optional route on, for the tests that walk the whole route table.
pub fn every_route_on() -> mercado::app::Settings {
    mercado::app::Settings {
        n_plus_one_threshold: 10,
        debug_endpoints: true,
        api_docs: true,
        metrics: true,
    }
}

/// The configuration tests run with: defaults, pointed at `url`.
pub fn test_config(url: &str) -> Config {
    let mut config = Config::from_lookup(|_| None).expect("default config");
    config.database_url = url.to_string();
    config
}

/// Starts the app on a fresh database of `backend`; `None` when PostgreSQL is skipped.
pub fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {})
}

/// Like [`spawn_app`], with the configuration adjusted by `adjust` first.
pub fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let database = TestDatabase::create(backend)?;
    let mut config = test_config(&database.url);
    adjust(&mut config);
    Some(TestApp::start(backend, &config, Some(database)))
}

impl TestApp {
    /// Starts the server on port 0 with `config`. `database`, if given, is removed on drop.
    pub fn start(backend: Backend, config: &Config, database: Option<TestDatabase>) -> TestApp {
        let target = DbTarget::parse(&config.database_url).expect("valid URL");
        let metrics = std::sync::Arc::new(mercado::metrics::Metrics::new(backend));
        let pool = db::build_pool(&target, config, metrics.pool_events());
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let address = format!("http://{}", listener.local_addr().unwrap());

        let (tx, rx) = std::sync::mpsc::channel();
        let server_pool = pool.clone();
        let server_config = config.clone();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            let _ = system.block_on(async move {
                let server = mercado::app::run(listener, server_pool, &server_config, metrics)
                    .expect("server starts");
                tx.send(server.handle()).expect("test is waiting");
                server.await
            });
        });
        let handle = rx.recv().expect("server handle");

        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        TestApp {
            address,
            backend,
            pool,
            agent,
            server: Some((handle, thread)),
            _database: database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Sends any request: the method, a path, an optional content type, and raw body bytes.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        let mut request = http::Request::builder().method(method).uri(self.url(path));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = match body {
            Some(bytes) => self.agent.run(request.body(bytes).unwrap()),
            None => self.agent.run(request.body(()).unwrap()),
        };
        TestResponse::read(response.expect("the request reaches the server"))
    }

    pub fn get(&self, path: &str) -> TestResponse {
        self.send("GET", path, None, None)
    }

    pub fn post(&self, path: &str, body: Value) -> TestResponse {
        self.send_json("POST", path, body)
    }

    pub fn patch(&self, path: &str, body: Value) -> TestResponse {
        self.send_json("PATCH", path, body)
    }

    pub fn delete(&self, path: &str) -> TestResponse {
        self.send("DELETE", path, None, None)
    }

    pub fn send_json(&self, method: &str, path: &str, body: Value) -> TestResponse {
        self.send(
            method,
            path,
            Some("application/json"),
            Some(serde_json::to_vec(&body).unwrap()),
        )
    }

    /// A connection to the app's database, for arranging and checking rows directly.
    pub fn conn(&self) -> TestConn {
        TestConn(self.pool.get().expect("a pooled test connection"))
    }

    /// How many rows `table` holds. `table` comes from the test, never from input.
    pub fn count(&self, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        diesel::sql_query(sql)
            .get_result::<Count>(&mut *self.conn())
            .expect("count rows")
            .n
    }

    // ---- fixtures: the few rows most tests need, created through the API itself ----

    pub fn create_customer(&self, first: &str, last: &str, email: &str) -> i64 {
        let res = self.post(
            "/customers",
            json!({"first_name": first, "last_name": last, "email": email}),
        );
        assert_eq!(res.status, 201, "create customer: {}", res.body);
        res.json()["customer_id"].as_i64().unwrap()
    }

    pub fn create_category(&self, name: &str, parent_id: Option<i64>) -> i64 {
        let res = self.post("/categories", json!({"name": name, "parent_id": parent_id}));
        assert_eq!(res.status, 201, "create category: {}", res.body);
        res.json()["category_id"].as_i64().unwrap()
    }

    pub fn create_product(&self, sku: &str, category_id: i64, price_cents: i64) -> i64 {
        let res = self.post(
            "/products",
            json!({"sku": sku, "name": format!("Product {sku}"), "category_id": category_id,
                   "unit_price_cents": price_cents}),
        );
        assert_eq!(res.status, 201, "create product: {}", res.body);
        res.json()["product_id"].as_i64().unwrap()
    }

    /// Loads a generated shop straight into the app's database (see `mercado seed`).
    pub fn seed(&self, customers: u64, orders_per_customer: u64, seed: u64) {
        self.seed_with(customers, orders_per_customer, seed, false);
    }

    /// Empties the shop and loads a generated one in its place (`mercado seed --reset`).
    pub fn reseed(&self, customers: u64, orders_per_customer: u64, seed: u64) {
        self.seed_with(customers, orders_per_customer, seed, true);
    }

    fn seed_with(&self, customers: u64, orders_per_customer: u64, seed: u64, reset: bool) {
        let options = mercado::seed::SeedOptions {
            shape: mercado::seed::generate::Shape {
                customers,
                orders_per_customer,
                seed,
            },
            reset,
            method: mercado::seed::LoadMethod::fastest_for(self.backend),
        };
        mercado::seed::seed(&mut self.conn(), options, &indicatif::ProgressBar::hidden())
            .expect("seed the test shop");
    }

    /// Places an order of `(product_id, quantity)` lines and returns its JSON.
    pub fn place_order(&self, customer_id: i64, lines: &[(i64, i64)]) -> Value {
        let items: Vec<Value> = lines
            .iter()
            .map(|(product_id, quantity)| json!({"product_id": product_id, "quantity": quantity}))
            .collect();
        let res = self.post(
            "/orders",
            json!({"customer_id": customer_id, "items": items}),
        );
        assert_eq!(res.status, 201, "place order: {}", res.body);
        res.json()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((handle, thread)) = self.server.take() {
            // `stop` sends the command at once; the future only waits for completion.
            drop(handle.stop(false));
            let _ = thread.join();
        }
        // Then the fields drop in declaration order: the pool (closing its connections)
        // before the database, which cannot be dropped while connections are open.
    }
}

/// A pooled connection that dereferences straight to the `DbConnection` Diesel wants.
pub struct TestConn(db::PooledConnection);

impl std::ops::Deref for TestConn {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.0
    }
}

impl std::ops::DerefMut for TestConn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.0
    }
}

/// A small shop most order tests start from: one customer, one category, two products.
pub struct Shop {
    pub customer_id: i64,
    pub category_id: i64,
    pub cable: i64,
    pub charger: i64,
}

impl Shop {
    pub const CABLE_PRICE: i64 = 1299;
    pub const CHARGER_PRICE: i64 = 2500;

    pub fn build(app: &TestApp) -> Shop {
        let category_id = app.create_category("Electronics", None);
        Shop {
            customer_id: app.create_customer("Alice", "Nguyen", "alice.nguyen@example.com"),
            category_id,
            cable: app.create_product("EL-0001", category_id, Shop::CABLE_PRICE),
            charger: app.create_product("EL-0002", category_id, Shop::CHARGER_PRICE),
        }
    }
}

pub struct TestResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    fn read(mut response: http::Response<ureq::Body>) -> TestResponse {
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .unwrap_or_default();
        TestResponse {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `X-Query-Count` header: the statements the request ran.
    pub fn query_count(&self) -> usize {
        self.header("x-query-count")
            .expect("every response has X-Query-Count")
            .parse()
            .unwrap()
    }

    /// Asserts the status and that the body is a problem+json of the same status.
    pub fn assert_problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "body: {}",
            self.body
        );
        let problem = self.json();
        assert_eq!(problem["status"], status);
        assert_eq!(problem["type"], "about:blank");
        assert!(problem["title"].is_string());
        assert!(problem["detail"].is_string());
        problem
    }

    /// The `field`s of a 422's `errors[]`.
    pub fn error_fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}
