//! The HTTP application: every route in one table, the middleware that counts each request's
//! SQL, and the extractor settings that keep every error in problem+json.
//!
//! [`routes`] is shared by the binary and the tests, so the tests exercise exactly what runs.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::{from_fn, Next};
use actix_web::{
    web, App, FromRequest, Handler, HttpMessage, HttpResponse, HttpServer, Responder, Route,
};

use crate::config::Config;
use crate::db::DbPool;
use crate::error::ApiError;
use crate::metrics::{self, Metrics, Observed};
use crate::querylog::{round_to_micros, Logged, QueryLog, StatementGroup};
use crate::routes::debug::{Kept, RecentRequests, RequestSummary};
use crate::routes::input::{json_config, BULK_JSON_LIMIT_BYTES, JSON_LIMIT_BYTES};
use crate::routes::{categories, customers, dashboard, debug, orders, products, reports, service};

/// What the app needs from the configuration, shared by every worker.
#[derive(Debug, Clone)]
pub struct Settings {
    pub n_plus_one_threshold: usize,
    pub debug_endpoints: bool,
    pub api_docs: bool,
    pub metrics: bool,
}

impl From<&Config> for Settings {
    fn from(config: &Config) -> Settings {
        Settings {
            n_plus_one_threshold: config.n_plus_one_threshold,
            debug_endpoints: config.debug_endpoints,
            api_docs: config.api_docs,
            metrics: config.metrics,
        }
    }
}

/// One endpoint of the route table: a method, a path pattern, and its handler.
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    route: Route,
}

fn endpoint<F, Args>(method: Method, path: &'static str, handler: F) -> Endpoint
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    Endpoint {
        route: web::route().method(method.clone()).to(handler),
        method,
        path,
    }
}

/// The route table: the whole API at a glance, in matching order.
///
/// Order matters where paths overlap: actix picks the first resource whose pattern matches, so
/// `/customers/bulk` must come before `/customers/{id}` (or a POST to it would be a 405 from
/// the `{id}` resource). The tests enumerate this same table, so a new route cannot be left
/// out of them.
pub fn endpoints(settings: &Settings) -> Vec<Endpoint> {
    use Method as M;
    let mut table = vec![
        endpoint(M::POST, "/customers/bulk", customers::bulk_create),
        endpoint(M::GET, "/customers", customers::list),
        endpoint(M::POST, "/customers", customers::create),
        endpoint(M::GET, "/customers/{id}", customers::get),
        endpoint(M::PATCH, "/customers/{id}", customers::update),
        endpoint(M::DELETE, "/customers/{id}", customers::delete),
        endpoint(M::GET, "/customers/{id}/orders", customers::orders),
        endpoint(M::GET, "/categories", categories::list),
        endpoint(M::POST, "/categories", categories::create),
        endpoint(M::GET, "/categories/{id}", categories::get),
        endpoint(M::PATCH, "/categories/{id}", categories::update),
        endpoint(M::DELETE, "/categories/{id}", categories::delete),
        endpoint(M::GET, "/products", products::list),
        endpoint(M::POST, "/products", products::create),
        endpoint(M::GET, "/products/{id}", products::get),
        endpoint(M::PATCH, "/products/{id}", products::update),
        endpoint(M::DELETE, "/products/{id}", products::delete),
        endpoint(M::POST, "/orders/bulk-status", orders::bulk_status),
        endpoint(M::GET, "/orders", orders::list),
        endpoint(M::POST, "/orders", orders::create),
        endpoint(M::GET, "/orders/{id}", orders::get),
        endpoint(M::PATCH, "/orders/{id}", orders::update),
        endpoint(M::DELETE, "/orders/{id}", orders::delete),
        endpoint(M::GET, "/dashboard/{strategy}", dashboard::show),
        endpoint(
            M::GET,
            "/reports/orders-by-last-name",
            reports::orders_by_last_name,
        ),
        endpoint(M::GET, "/reports/top-customers", reports::top_customers),
        endpoint(M::GET, "/reports/monthly-revenue", reports::monthly_revenue),
        endpoint(
            M::GET,
            "/reports/category-revenue",
            reports::category_revenue,
        ),
        endpoint(M::GET, "/health", service::health),
    ];
    if settings.api_docs {
        table.push(endpoint(M::GET, "/openapi.json", service::openapi));
    }
    if settings.metrics {
        table.push(endpoint(M::GET, "/metrics", service::metrics));
    }
    if settings.debug_endpoints {
        table.push(endpoint(M::GET, "/_debug/queries", debug::queries));
        table.push(endpoint(M::GET, "/_debug/queries/{id}", debug::query));
        table.push(endpoint(
            M::GET,
            "/_debug/explain/{strategy}",
            debug::explain,
        ));
    }
    table
}

/// Registers [`endpoints`]: one actix resource per path, whose unmatched methods answer 405 in
/// problem+json with an `Allow` header (actix's own 405 has an empty body and no `Allow`).
pub fn routes(cfg: &mut web::ServiceConfig, settings: &Settings) {
    let mut by_path: Vec<(&'static str, Vec<Endpoint>)> = Vec::new();
    for endpoint in endpoints(settings) {
        match by_path.iter_mut().find(|(path, _)| *path == endpoint.path) {
            Some((_, group)) => group.push(endpoint),
            None => by_path.push((endpoint.path, vec![endpoint])),
        }
    }
    for (path, group) in by_path {
        let allow: Vec<&str> = group.iter().map(|e| e.method.as_str()).collect();
        let allow = allow.join(", ");
        let mut resource = web::resource(path).default_service(web::to(move || {
            let allow = allow.clone();
            async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow }) }
        }));
        if path == "/customers/bulk" {
            resource = resource.app_data(json_config(BULK_JSON_LIMIT_BYTES));
        }
        for endpoint in group {
            resource = resource.route(endpoint.route);
        }
        cfg.service(resource);
    }
    if settings.api_docs {
        docs_ui(cfg);
    }
    // The lab shows SQL text, so it goes with the debug endpoints. Like /docs, it is a page for
    // people built on the API, not an operation of it: not in the route table or the spec.
    if settings.debug_endpoints {
        crate::routes::lab::configure(cfg);
    }
}

/// Swagger UI for `/openapi.json` at `/docs/`, its files compiled into the binary (nothing is
/// fetched from the internet, at build time or in the browser). It is a page for people, not
/// an operation of the API it describes, so it is not in the route table or the spec.
fn docs_ui(cfg: &mut web::ServiceConfig) {
    cfg.service(
        utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
            .config(utoipa_swagger_ui::Config::new(["/openapi.json"])),
    );
    cfg.route(
        "/docs",
        web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((actix_web::http::header::LOCATION, "/docs/"))
                .finish()
        }),
    );
}

/// Builds the server on an already bound listener (tests bind port 0) and a shared pool.
/// The returned [`Server`] runs until it is stopped or the process gets Ctrl-C / SIGTERM, when
/// it stops accepting, lets in-flight requests finish, and returns.
/// `metrics` must be the one whose `pool_events` the pool reports to.
pub fn run(
    listener: TcpListener,
    pool: DbPool,
    config: &Config,
    metrics: Arc<Metrics>,
) -> std::io::Result<Server> {
    // Built once, outside the factory closure: every worker thread shares the same pool, the
    // same settings, the same metrics and the same record of recent requests.
    let pool = web::Data::new(pool);
    let metrics = web::Data::from(metrics);
    let settings = web::Data::new(Settings::from(config));
    let recent = web::Data::new(RecentRequests::default());
    // actix's default: one worker per core.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let server = HttpServer::new(move || {
        let settings = settings.clone();
        App::new()
            .app_data(pool.clone())
            .app_data(metrics.clone())
            .app_data(settings.clone())
            .app_data(recent.clone())
            .app_data(json_config(JSON_LIMIT_BYTES))
            .wrap(from_fn(observe))
            .configure(|cfg| routes(cfg, &settings))
            .default_service(web::to(service::unknown_route))
    })
    .workers(workers)
    // Every handler's database work runs on its worker's blocking pool and first waits for a
    // pooled connection. More blocking threads per worker than connections would only wait
    // there too, each with its own stack and malloc arena, and make the two cores of a small
    // machine spend their time switching between threads (actix-server's default is 512 in
    // all). Fewer would be worse: a worker whose threads are all busy with slow reports would
    // hold its other requests back while the pool still has free connections (the soak found
    // single-row reads waiting seconds on SQLite with the pool split between the workers).
    .worker_max_blocking_threads(config.pool_size as usize)
    .listen(listener)?
    .run();
    Ok(server)
}

/// A fresh `X-Request-Id`: unique within this process by its counter, and across restarts by
/// its prefix, taken from the start time and the process id. Short, so it reads well in a log
/// line and a URL (`/_debug/queries/6754a1c2-1f`).
fn next_request_id() -> String {
    static PREFIX: LazyLock<u32> = LazyLock::new(|| {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        (started as u32) ^ std::process::id().rotate_left(16)
    });
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{:08x}-{:x}", *PREFIX, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// What the middleware knows about a request once its handler has answered.
struct Finished {
    id: String,
    method: Method,
    path: String,
    /// The route label, the same in the log, the metrics and the debug record: the pattern
    /// (`/customers/{id}`), a dashboard strategy of its own, or `unmatched`
    /// ([`metrics::route_label`]).
    route: String,
    status: u16,
    elapsed: Duration,
    /// The request's statements, taken out of its log: nothing reads the log any more.
    logged: Logged,
}

/// The one middleware: gives each request an id and a fresh [`QueryLog`] for `db::run` to
/// fill, and once the handler has answered, runs the steps below in order.
///
/// Each step is kept out of line (`#[inline(never)]`), at the price of one call, so that a
/// profile names it: docs/BENCHMARKS.md splits a request's cost by these names.
async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = next_request_id();
    let (method, path) = (req.method().clone(), req.path().to_string());
    let log = QueryLog::for_request(format!("{method} {path}")).with_id(&id);
    req.extensions_mut().insert(log.clone());
    let settings = req.app_data::<web::Data<Settings>>().cloned();
    let recent = req.app_data::<web::Data<RecentRequests>>().cloned();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let started = Instant::now();

    let mut res = next.call(req).await?;

    let route = metrics::route_label(res.request().match_pattern().as_deref(), &path);
    let finished = Finished {
        id,
        method,
        path,
        route,
        status: res.status().as_u16(),
        elapsed: started.elapsed(),
        logged: log.take(),
    };
    add_headers(res.headers_mut(), &finished);
    log_access(&finished);
    if let Some(settings) = settings {
        let detected =
            detect_n_plus_one(res.headers_mut(), &finished, settings.n_plus_one_threshold);
        if let Some(metrics) = metrics.filter(|_| settings.metrics && finished.route != "/metrics")
        {
            count_in_metrics(&metrics, &finished, detected);
        }
        if settings.debug_endpoints {
            if let Some(recent) = recent {
                remember_for_debug(&recent, finished, settings.n_plus_one_threshold);
            }
        }
    }
    Ok(res)
}

/// `X-Request-Id`, and what the request cost in the database: `X-Query-Count` and
/// `Server-Timing`.
#[inline(never)]
fn add_headers(headers: &mut HeaderMap, request: &Finished) {
    let count = request.logged.count;
    let db_ms = request.logged.total.as_secs_f64() * 1e3;
    if let Ok(id) = HeaderValue::from_str(&request.id) {
        headers.insert(HeaderName::from_static("x-request-id"), id);
    }
    headers.insert(
        HeaderName::from_static("x-query-count"),
        HeaderValue::from(count),
    );
    if let Ok(timing) =
        HeaderValue::from_str(&format!("db;dur={db_ms:.3};desc=\"{count} queries\""))
    {
        headers.insert(HeaderName::from_static("server-timing"), timing);
    }
}

/// The N+1 detector: one statement text repeated `threshold` times in one request gets an
/// `X-N-Plus-One` header naming it, and a warning in the log naming the route.
#[inline(never)]
fn detect_n_plus_one(headers: &mut HeaderMap, request: &Finished, threshold: usize) -> bool {
    let Some(repeated) = StatementGroup::most_repeated(&request.logged.groups, threshold) else {
        return false;
    };
    tracing::warn!(
        target: "mercado::n_plus_one",
        request_id = request.id,
        method = %request.method,
        route = request.route,
        path = request.path,
        count = repeated.count,
        sql = repeated.sql,
        "possible N+1: one statement ran {} times in one request",
        repeated.count
    );
    // SQL from the query builder is plain ASCII; anything else is dropped from the header
    // rather than failing the response.
    let value: String = format!("{}; {}", repeated.count, repeated.sql)
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .collect();
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(HeaderName::from_static("x-n-plus-one"), value);
    }
    true
}

/// The request in the Prometheus series of `/metrics` (requests to `/metrics` itself are left
/// out: a scrape every few seconds would drown the routes being watched).
#[inline(never)]
fn count_in_metrics(metrics: &Metrics, request: &Finished, n_plus_one: bool) {
    metrics.observe(Observed {
        method: request.method.as_str(),
        route: &request.route,
        status: request.status,
        duration: request.elapsed,
        statements: request.logged.count,
        db_time: request.logged.total,
        n_plus_one,
    });
}

/// Keeps the request for `/_debug/queries`, unless it is a request to the debug tools
/// themselves (`/_debug/*`, the lab's page and files): those would only crowd out the ones
/// being debugged.
#[inline(never)]
fn remember_for_debug(recent: &RecentRequests, request: Finished, threshold: usize) {
    if request.route.starts_with("/_debug") || request.route.starts_with("/lab") {
        return;
    }
    let summary = RequestSummary {
        id: request.id,
        method: request.method,
        path: request.path,
        status: request.status,
        duration_ms: request.elapsed.as_secs_f64() * 1e3,
    };
    recent.record(Kept::new(summary, request.logged, threshold));
}

/// One access line per request: what was asked, what it cost in the database, and its id.
#[inline(never)]
fn log_access(request: &Finished) {
    tracing::info!(
        target: "mercado::http",
        request_id = request.id,
        method = %request.method,
        route = request.route,
        path = request.path,
        status = request.status,
        statements = request.logged.count,
        db_ms = round_to_micros(request.logged.total.as_secs_f64() * 1e3),
        ms = round_to_micros(request.elapsed.as_secs_f64() * 1e3),
    );
}
