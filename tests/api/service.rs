//! `/health`, an unreachable database (503 with Retry-After), and recovery without a restart.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use mercado::db::Backend;

use crate::helpers::{pg_admin, pg_admin_url, test_config, TestApp};

both_backends! {
    fn health_names_the_backend(app) {
        let res = app.get("/health");

        assert_eq!(res.status, 200);
        let backend = match app.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgresql => "postgresql",
        };
        assert_eq!(res.json(), serde_json::json!({"status": "ok", "backend": backend}));
    }
}

/// A database URL that cannot be reached now, and what makes it reachable.
struct Outage {
    url: String,
    restore: Box<dyn FnOnce()>,
    cleanup: Box<dyn FnOnce()>,
}

fn outage(backend: Backend) -> Option<Outage> {
    let name = format!("mercado_test_outage_{}_{:?}", std::process::id(), backend).to_lowercase();
    match backend {
        Backend::Sqlite => {
            // A file in a directory that does not exist yet cannot be opened.
            let dir = std::env::temp_dir().join(&name);
            let _ = std::fs::remove_dir_all(&dir);
            let (make, remove) = (dir.clone(), dir.clone());
            Some(Outage {
                url: dir.join("mercado.db").to_string_lossy().into_owned(),
                restore: Box::new(move || std::fs::create_dir_all(&make).unwrap()),
                cleanup: Box::new(move || {
                    let _ = std::fs::remove_dir_all(&remove);
                }),
            })
        }
        Backend::Postgresql => {
            // A database that does not exist yet: libpq's error is immediate and real.
            let mut admin = pg_admin()?;
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                .unwrap();
            let (create, drop) = (name.clone(), name.clone());
            Some(Outage {
                url: mercado::db::with_database_name(&pg_admin_url(), &name),
                restore: Box::new(move || {
                    let mut admin = pg_admin().unwrap();
                    admin
                        .batch_execute(&format!("CREATE DATABASE \"{create}\""))
                        .unwrap();
                }),
                cleanup: Box::new(move || {
                    if let Some(mut admin) = pg_admin() {
                        let _ = admin.batch_execute(&format!(
                            "DROP DATABASE IF EXISTS \"{drop}\" WITH (FORCE)"
                        ));
                    }
                }),
            })
        }
    }
}

fn an_unreachable_database_is_503_and_the_service_recovers(backend: Backend) {
    let Some(outage) = outage(backend) else {
        return;
    };
    let mut config = test_config(&outage.url);
    config.pool_timeout = Duration::from_millis(300);
    let app = TestApp::start(backend, &config, None);

    for path in ["/health", "/customers", "/orders/1"] {
        let res = app.get(path);
        let problem = res.assert_problem(503);
        assert_eq!(res.header("retry-after"), Some("1"), "{path}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(!detail.contains("password"), "{detail}");
    }

    (outage.restore)();
    // r2d2 keeps trying to connect in the background; the next requests find a connection.
    let mut recovered = false;
    for _ in 0..50 {
        if app.get("/health").status == 200 {
            recovered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(app);
    (outage.cleanup)();
    assert!(
        recovered,
        "the service answers again once the database is back"
    );
}

#[test]
fn an_unreachable_sqlite_database_is_503_and_the_service_recovers() {
    an_unreachable_database_is_503_and_the_service_recovers(Backend::Sqlite);
}

#[test]
fn an_unreachable_postgresql_database_is_503_and_the_service_recovers() {
    an_unreachable_database_is_503_and_the_service_recovers(Backend::Postgresql);
}

/// PostgreSQL ends every connection (a restart, a failover, an administrator): requests that
/// meet a dead pooled connection answer 503, never 500, and the pool replaces the connections
/// by itself.
#[test]
fn killed_postgresql_connections_give_503s_and_the_pool_heals() {
    let Some(app) = crate::helpers::spawn_app(Backend::Postgresql) else {
        return;
    };
    let name = app_database_name(&app);
    // Fill the pool with live connections.
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| assert_eq!(app.get("/customers").status, 200));
        }
    });

    let mut admin = pg_admin().unwrap();
    admin
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .unwrap();

    let statuses: Vec<u16> = (0..20).map(|_| app.get("/customers").status).collect();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 503).count() <= 8,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
}

fn app_database_name(app: &TestApp) -> String {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let row: Name = diesel::RunQueryDsl::get_result(
        diesel::sql_query("SELECT current_database()::text AS name"),
        &mut *app.conn(),
    )
    .unwrap();
    row.name
}

/// A start-up that cannot serve changes nothing: with the port taken, `serve` fails before it
/// creates the SQLite file, runs a migration or loads the demo shop.
#[test]
fn serve_on_a_taken_port_fails_and_leaves_the_database_untouched() {
    use diesel::prelude::*;
    for backend in [Backend::Sqlite, Backend::Postgresql] {
        let Some(database) = crate::helpers::TestDatabase::create_empty(backend) else {
            continue;
        };
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut config = test_config(&database.url);
        config.bind = taken.local_addr().unwrap().to_string();

        let err = mercado::commands::serve(config).expect_err("the port is taken");

        assert!(err.to_string().starts_with("cannot listen on"), "{err}");
        match backend {
            Backend::Sqlite => assert!(
                !std::path::Path::new(&database.url).exists(),
                "no database file was created"
            ),
            Backend::Postgresql => {
                let mut conn = database.connect();
                let tables: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
                )
                .get_result(&mut conn)
                .unwrap();
                assert_eq!(tables, 0, "no migration ran");
            }
        }
    }
}
