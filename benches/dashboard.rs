//! The N+1 lab, measured: each dashboard strategy at page sizes 10, 100, 1,000 and 5,000
//! customers, on SQLite and on PostgreSQL, with the statement count beside each time.
//!
//! `cargo bench` seeds a fresh database per backend once (the shop below), runs criterion, then
//! reads criterion's own estimates back and writes a table (`dashboard-bench.md`) and a log-log
//! chart of milliseconds per request against page size (`dashboard-bench.svg`) into criterion's
//! directory, `target/criterion` unless `CARGO_TARGET_DIR` or `CRITERION_HOME` moves it.
//! PostgreSQL comes from `MERCADO_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); without it, its half is skipped with one line.
//! `cargo bench -- batched` runs only the matching benchmarks, as with any criterion bench.

use std::fmt::Write as _;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use indicatif::ProgressBar;
use mercado::dashboard::Strategy;
use mercado::db::{self, Backend, DbConnection, DbTarget};
use mercado::models::Page;
use mercado::querylog;
use mercado::seed::generate::Shape;
use mercado::seed::{self, LoadMethod, SeedOptions};

/// The shop every run measures: every page size up to 5,000 is a full page.
const SHOP: Shape = Shape {
    customers: 5_000,
    orders_per_customer: 5,
    seed: 42,
};
const PAGE_SIZES: [i64; 4] = [10, 100, 1_000, 5_000];

/// A database made for this run and removed afterwards.
struct BenchDatabase {
    target: DbTarget,
    drop_pg: Option<(String, String)>,
}

impl BenchDatabase {
    fn create(backend: Backend) -> Option<BenchDatabase> {
        let name = format!("mercado_bench_{}", std::process::id());
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                let _ = std::fs::remove_file(&path);
                Some(BenchDatabase {
                    target: DbTarget::parse(&path.to_string_lossy()).ok()?,
                    drop_pg: None,
                })
            }
            Backend::Postgresql => {
                let admin = std::env::var("MERCADO_TEST_PG_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                let mut conn = match PgConnection::establish(&admin) {
                    Ok(conn) => conn,
                    Err(err) => {
                        println!("PostgreSQL not reachable at {admin} ({err}): skipping its half");
                        return None;
                    }
                };
                let created = conn
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                    .and_then(|()| conn.batch_execute(&format!("CREATE DATABASE \"{name}\"")));
                if let Err(err) = created {
                    println!("cannot create {name} through {admin} ({err}): skipping PostgreSQL");
                    return None;
                }
                Some(BenchDatabase {
                    target: DbTarget::parse(&db::with_database_name(&admin, &name)).ok()?,
                    drop_pg: Some((admin.clone(), name)),
                })
            }
        }
    }

    fn connect(&self) -> DbConnection {
        db::establish(&self.target).expect("connect to the bench database")
    }
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        match &self.drop_pg {
            Some((admin, name)) => {
                if let Ok(mut conn) = PgConnection::establish(admin) {
                    let _ = conn
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
                }
            }
            None => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.target.location));
                }
            }
        }
    }
}

/// How many statements one run of `strategy` at `limit` sends (the same count `mercado demo`
/// prints, measured the same way).
fn count_statements(conn: &mut DbConnection, strategy: Strategy, limit: i64) -> usize {
    querylog::measure(conn, 1, |conn| strategy.run(conn, Page::first(limit)))
        .expect("the strategy runs")
        .statements
}

struct Measured {
    backend: Backend,
    strategy: Strategy,
    limit: i64,
    statements: usize,
}

fn group_name(backend: Backend) -> String {
    format!("dashboard-{}", backend.name())
}

fn main() {
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut measured = Vec::new();

    for backend in [Backend::Sqlite, Backend::Postgresql] {
        let Some(database) = BenchDatabase::create(backend) else {
            continue;
        };
        let mut conn = database.connect();
        db::migrate(&mut conn).expect("migrate");
        let options = SeedOptions {
            shape: SHOP,
            reset: true,
            method: LoadMethod::fastest_for(backend),
        };
        let report = seed::seed(&mut conn, options, &ProgressBar::hidden()).expect("seed");
        println!(
            "{}: mercado seed --customers {} --orders-per-customer {} --seed {} -> {}",
            backend.name(),
            SHOP.customers,
            SHOP.orders_per_customer,
            SHOP.seed,
            report.summary()
        );

        let mut group = criterion.benchmark_group(group_name(backend));
        for strategy in Strategy::ALL {
            for limit in PAGE_SIZES {
                let statements = count_statements(&mut conn, strategy, limit);
                group.bench_with_input(
                    BenchmarkId::new(strategy.name(), limit),
                    &limit,
                    |b, &limit| {
                        b.iter(|| {
                            strategy
                                .run(&mut conn, Page::first(limit))
                                .expect("the strategy runs")
                        })
                    },
                );
                measured.push(Measured {
                    backend,
                    strategy,
                    limit,
                    statements,
                });
            }
        }
        group.finish();
    }
    criterion.final_summary();
    report(&measured);
}

/// Where criterion writes its results: `CRITERION_HOME`, else `criterion` in the target dir.
fn criterion_home() -> std::path::PathBuf {
    if let Ok(home) = std::env::var("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    std::path::Path::new(&target).join("criterion")
}

/// Criterion's median estimate for one benchmark, in milliseconds, if it ran.
fn median_ms(m: &Measured) -> Option<f64> {
    let path = criterion_home().join(format!(
        "{}/{}/{}/new/estimates.json",
        group_name(m.backend),
        m.strategy.name(),
        m.limit
    ));
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(json["median"]["point_estimate"].as_f64()? / 1e6)
}

fn report(measured: &[Measured]) {
    let mut table = String::from(
        "| backend | strategy | page size | statements | ms per request (median) |\n|---|---|---|---|---|\n",
    );
    let mut points = Vec::new();
    for m in measured {
        let Some(ms) = median_ms(m) else { continue };
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {:.3} |",
            m.backend.name(),
            m.strategy.name(),
            m.limit,
            m.statements,
            ms
        );
        points.push((m.backend, m.strategy, m.limit, ms));
    }
    if points.is_empty() {
        println!(
            "no criterion estimates found in {}",
            criterion_home().display()
        );
        return;
    }
    println!("\n{table}");
    let out = criterion_home();
    let _ = std::fs::write(out.join("dashboard-bench.md"), &table);
    let _ = std::fs::write(out.join("dashboard-bench.svg"), chart(&points));
    println!(
        "wrote dashboard-bench.md and dashboard-bench.svg in {}",
        out.display()
    );
}

/// A log-log line chart as SVG: one line per strategy and backend. Hand-written: twenty lines
/// of SVG do not justify a plotting library's compile time.
fn chart(points: &[(Backend, Strategy, i64, f64)]) -> String {
    let (width, height, left, right, top, bottom) = (760.0, 460.0, 70.0, 200.0, 30.0, 50.0);
    let (plot_w, plot_h) = (width - left - right, height - top - bottom);
    let times: Vec<f64> = points.iter().map(|p| p.3).collect();
    let lo = times
        .iter()
        .cloned()
        .fold(f64::MAX, f64::min)
        .max(1e-3)
        .log10()
        .floor();
    let hi = times
        .iter()
        .cloned()
        .fold(0.0, f64::max)
        .max(1e-3)
        .log10()
        .ceil()
        .max(lo + 1.0);
    let x = |limit: i64| left + plot_w * ((limit as f64).log10() - 1.0) / (5_000f64.log10() - 1.0);
    let y = |ms: f64| top + plot_h * (1.0 - (ms.log10() - lo) / (hi - lo));
    let colour = |s: Strategy| match s {
        Strategy::NPlusOne => "#d62728",
        Strategy::Batched => "#1f77b4",
        Strategy::Joined => "#2ca02c",
        Strategy::Aggregate => "#9467bd",
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{left}\" y=\"18\" font-size=\"14\">Dashboard: milliseconds per request by page size (log-log)</text>\n"
    );
    for decade in (lo as i32)..=(hi as i32) {
        let ms = 10f64.powi(decade);
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{ms} ms</text>",
            left + plot_w,
            left - 6.0,
            y(ms) + 4.0,
            y = y(ms)
        );
    }
    for limit in PAGE_SIZES {
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top}\" y2=\"{}\" stroke=\"#ddd\"/><text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{limit}</text>",
            top + plot_h,
            top + plot_h + 18.0,
            x = x(limit)
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">customers per page</text>",
        left + plot_w / 2.0,
        height - 10.0
    );
    let mut legend_y = top + 10.0;
    for backend in [Backend::Sqlite, Backend::Postgresql] {
        for strategy in Strategy::ALL {
            let line: Vec<String> = points
                .iter()
                .filter(|p| p.0 == backend && p.1 == strategy)
                .map(|p| format!("{:.1},{:.1}", x(p.2), y(p.3)))
                .collect();
            if line.is_empty() {
                continue;
            }
            let dash = if backend == Backend::Sqlite {
                ""
            } else {
                " stroke-dasharray=\"6 4\""
            };
            let _ = writeln!(
                svg,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{dash}/>",
                line.join(" "),
                colour(strategy)
            );
            let lx = left + plot_w + 15.0;
            let _ = writeln!(
                svg,
                "<line x1=\"{lx}\" x2=\"{}\" y1=\"{legend_y}\" y2=\"{legend_y}\" stroke=\"{}\" stroke-width=\"2\"{dash}/><text x=\"{}\" y=\"{}\">{} ({})</text>",
                lx + 25.0,
                colour(strategy),
                lx + 30.0,
                legend_y + 4.0,
                strategy.name(),
                backend.name()
            );
            legend_y += 20.0;
        }
    }
    svg.push_str("</svg>\n");
    svg
}
