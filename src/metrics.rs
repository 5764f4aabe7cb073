//! Watching query counts in production: Prometheus metrics at `GET /metrics`.
//!
//! The chapter's lesson from the 5,001-query dashboard is that an N+1 is invisible on a
//! developer's ten rows and ruinous on production's thousands, so query counts must be watched
//! where the data is. `X-Query-Count` and `/_debug/queries` serve a developer at a desk; these
//! series serve an operator watching a fleet over time: statements per request by route, time
//! in the database, N+1 detections, and the pool.
//!
//! Built on `prometheus-client`, the Prometheus project's own Rust library: typed label sets,
//! no global registry (every app, including each test's, has its own), and the text format
//! that Prometheus and `promtool` read.
//!
//! The route label is the route's pattern (`/customers/{id}`), never the raw path, so the
//! label set stays bounded whatever clients send; the dashboard's four strategies are a fixed
//! set and each is its own route (`/dashboard/n-plus-one`), so they can be compared.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::dashboard::Strategy;
use crate::db::Backend;

/// The route label of a request that matched no route: one value for all of them, so a
/// scanner trying a thousand paths adds one series, not a thousand.
pub const UNMATCHED: &str = "unmatched";

/// Statements per request: buckets that tell 1, 3, 10, 100 and 1,000+ apart.
const STATEMENT_BUCKETS: [f64; 14] = [
    0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
];

/// A pool checkout that took longer than this waited for a connection: an idle connection is
/// handed over in microseconds.
const WAITED: Duration = Duration::from_millis(1);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Request {
    method: String,
    route: String,
    /// `2xx`, `4xx`, `5xx`: a class, so the label set stays small.
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodRoute {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Build {
    version: String,
    backend: String,
}

/// Every series the service exports, and the registry that writes them out.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<Request, Counter>,
    duration: Family<MethodRoute, Histogram>,
    statements: Family<MethodRoute, Histogram>,
    db_time: Family<Route, Histogram>,
    n_plus_one: Family<Route, Counter>,
    pool: PoolMetrics,
    /// The series of each route, method and status class seen so far. Looking a request's
    /// series up in the families builds four label sets of owned strings per request; this
    /// finds them with one lookup by the borrowed route, which measurably cheapened a cached
    /// single-row read (see docs/BENCHMARKS.md). Bounded as the labels are.
    handles: RwLock<HashMap<String, Vec<Kind>>>,
}

/// A method and a status class on one route, with their series.
type Kind = (String, u16, Handles);

/// One request kind's series, cloned out of the families (each is a shared handle). The N+1
/// counter is not among them: it is created only when the detector first fires for a route,
/// so a route that never had an N+1 has no such series at all.
#[derive(Debug, Clone)]
struct Handles {
    requests: Counter,
    duration: Histogram,
    statements: Histogram,
    db_time: Histogram,
}

/// The pool's series. r2d2 reports checkouts and timeouts to [`PoolMetrics`] as they happen
/// (it is the pool's event handler); the connection gauges are read from the pool at scrape
/// time.
#[derive(Debug, Clone)]
pub struct PoolMetrics {
    open: Gauge,
    idle: Gauge,
    waited: Counter,
    timed_out: Counter,
    wait: Histogram,
}

/// Seconds: 100 µs (a cached single-row read) to 10 s (a timed-out checkout is 5 s).
const SECONDS_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

fn seconds_histogram() -> Histogram {
    Histogram::new(SECONDS_BUCKETS)
}

impl Metrics {
    pub fn new(backend: Backend) -> Metrics {
        let mut registry = Registry::with_prefix("mercado");
        let requests = Family::<Request, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route pattern and status class",
            requests.clone(),
        );
        let duration =
            Family::<MethodRoute, Histogram>::new_with_constructor(seconds_histogram as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by method and route",
            duration.clone(),
        );
        let statements = Family::<MethodRoute, Histogram>::new_with_constructor(
            (|| Histogram::new(STATEMENT_BUCKETS)) as fn() -> _,
        );
        registry.register(
            "http_request_statements",
            "SQL statements one request executed (its X-Query-Count), by method and route",
            statements.clone(),
        );
        let db_time =
            Family::<Route, Histogram>::new_with_constructor(seconds_histogram as fn() -> _);
        registry.register(
            "http_request_db_seconds",
            "Time one request spent in the database driver, by route",
            db_time.clone(),
        );
        let n_plus_one = Family::<Route, Counter>::default();
        registry.register(
            "n_plus_one_detections",
            "Requests in which one SQL text ran MERCADO_N_PLUS_ONE_THRESHOLD times or more",
            n_plus_one.clone(),
        );
        let pool = PoolMetrics {
            open: Gauge::default(),
            idle: Gauge::default(),
            waited: Counter::default(),
            timed_out: Counter::default(),
            wait: seconds_histogram(),
        };
        registry.register(
            "db_pool_connections",
            "Connections the pool holds open",
            pool.open.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Open connections not checked out",
            pool.idle.clone(),
        );
        registry.register(
            "db_pool_checkouts_waited",
            "Checkouts that had to wait for a connection (more than 1 ms)",
            pool.waited.clone(),
        );
        registry.register(
            "db_pool_checkouts_timed_out",
            "Checkouts that gave up after MERCADO_POOL_TIMEOUT_MS (each a 503)",
            pool.timed_out.clone(),
        );
        registry.register(
            "db_pool_wait_seconds",
            "Time a checkout waited for a connection",
            pool.wait.clone(),
        );
        let build = Family::<Build, Gauge>::default();
        build
            .get_or_create(&Build {
                version: env!("CARGO_PKG_VERSION").to_string(),
                backend: backend.name().to_string(),
            })
            .set(1);
        registry.register(
            "build_info",
            "The running build: version and backend",
            build,
        );
        Metrics {
            registry,
            requests,
            duration,
            statements,
            db_time,
            n_plus_one,
            pool,
            handles: RwLock::default(),
        }
    }

    /// The handler r2d2 reports checkouts and timeouts to (give it to `db::build_pool`).
    pub fn pool_events(&self) -> PoolMetrics {
        self.pool.clone()
    }

    /// Records one answered request.
    pub fn observe(&self, observed: Observed<'_>) {
        let handles = self.handles_for(observed.method, observed.route, observed.status / 100);
        handles.requests.inc();
        handles.duration.observe(observed.duration.as_secs_f64());
        handles.statements.observe(observed.statements as f64);
        handles.db_time.observe(observed.db_time.as_secs_f64());
        if observed.n_plus_one {
            let route = Route {
                route: observed.route.to_string(),
            };
            self.n_plus_one.get_or_create(&route).inc();
        }
    }

    fn handles_for(&self, method: &str, route: &str, class: u16) -> Handles {
        let known = self.handles.read().unwrap_or_else(|p| p.into_inner());
        if let Some(handles) = known.get(route).and_then(|kinds| {
            kinds
                .iter()
                .find(|(m, c, _)| m == method && *c == class)
                .map(|(_, _, handles)| handles.clone())
        }) {
            return handles;
        }
        drop(known);
        let (method, route) = (method.to_string(), route.to_string());
        let method_route = MethodRoute {
            method: method.clone(),
            route: route.clone(),
        };
        let by_route = Route {
            route: route.clone(),
        };
        let handles = Handles {
            requests: self
                .requests
                .get_or_create(&Request {
                    method: method.clone(),
                    route: route.clone(),
                    status: format!("{class}xx"),
                })
                .clone(),
            duration: self.duration.get_or_create(&method_route).clone(),
            statements: self.statements.get_or_create(&method_route).clone(),
            db_time: self.db_time.get_or_create(&by_route).clone(),
        };
        self.handles
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(route)
            .or_default()
            .push((method, class, handles.clone()));
        handles
    }

    /// The series in Prometheus's text format, with the pool's gauges read from `pool_state`
    /// (connections, idle) now.
    pub fn encode(&self, pool_state: (u32, u32)) -> String {
        self.pool.open.set(i64::from(pool_state.0));
        self.pool.idle.set(i64::from(pool_state.1));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }
}

/// One answered request, as the metrics see it.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    pub method: &'a str,
    /// The route label: see [`route_label`].
    pub route: &'a str,
    pub status: u16,
    pub duration: Duration,
    pub statements: usize,
    pub db_time: Duration,
    pub n_plus_one: bool,
}

/// The route label of a request: its pattern, with the dashboard's strategy filled in (a fixed
/// set of four), or [`UNMATCHED`].
pub fn route_label(pattern: Option<&str>, path: &str) -> String {
    match pattern {
        Some("/dashboard/{strategy}") => {
            let name = path.rsplit('/').next().unwrap_or("");
            match Strategy::parse(name) {
                Some(strategy) => format!("/dashboard/{}", strategy.name()),
                None => "/dashboard/{strategy}".to_string(),
            }
        }
        Some(pattern) => pattern.to_string(),
        None => UNMATCHED.to_string(),
    }
}

/// `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

impl r2d2::HandleEvent for PoolMetrics {
    fn handle_checkout(&self, event: r2d2::event::CheckoutEvent) {
        self.wait.observe(event.duration().as_secs_f64());
        if event.duration() > WAITED {
            self.waited.inc();
        }
    }

    fn handle_timeout(&self, event: r2d2::event::TimeoutEvent) {
        self.timed_out.inc();
        self.wait.observe(event.timeout().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_patterns_and_strategies_are_their_own_routes() {
        assert_eq!(
            route_label(Some("/customers/{id}"), "/customers/7"),
            "/customers/{id}"
        );
        assert_eq!(
            route_label(Some("/dashboard/{strategy}"), "/dashboard/batched"),
            "/dashboard/batched"
        );
        assert_eq!(
            route_label(Some("/dashboard/{strategy}"), "/dashboard/lazy"),
            "/dashboard/{strategy}"
        );
        assert_eq!(route_label(None, "/wp-login.php"), UNMATCHED);
    }

    #[test]
    fn three_batched_requests_are_three_observations_of_three_statements() {
        let metrics = Metrics::new(Backend::Sqlite);
        for _ in 0..3 {
            metrics.observe(Observed {
                method: "GET",
                route: "/dashboard/batched",
                status: 200,
                duration: Duration::from_millis(2),
                statements: 3,
                db_time: Duration::from_millis(1),
                n_plus_one: false,
            });
        }
        let text = metrics.encode((1, 1));
        let series =
            "mercado_http_request_statements_bucket{method=\"GET\",route=\"/dashboard/batched\"";
        assert!(text.contains(&format!("{series},le=\"2\"}} 0")), "{text}");
        assert!(text.contains(&format!("{series},le=\"3\"}} 3")), "{text}");
        assert!(text.contains(
            "mercado_http_request_statements_sum{method=\"GET\",route=\"/dashboard/batched\"} 9.0"
        ), "{text}");
        assert!(text.contains("mercado_build_info{version="), "{text}");
    }
}
