//! `mercado migrate --status` and `mercado migrate --revert [--yes]`, run as a user runs them,
//! on both backends. (The round trip of every migration is in `schema.rs`.)

use mercado::db::Backend;

use crate::helpers::{mercado, Run, TestDatabase};

/// The migration directories of the backend's tree, oldest first: what the binary embeds.
fn migration_names(backend: Backend) -> Vec<String> {
    let tree = match backend {
        Backend::Postgresql => "postgres",
        Backend::Sqlite => "sqlite",
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(tree);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the migrations directory")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The `(state, name)` pairs that `--status` printed, in its order.
fn listed(run: &Run) -> Vec<(String, String)> {
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    run.stdout
        .lines()
        .skip(1)
        .map(|line| {
            let (state, name) = line.trim().split_once("  ").expect("state  name");
            (state.to_string(), name.to_string())
        })
        .collect()
}

fn all(state: &str, names: &[String]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|name| (state.to_string(), name.clone()))
        .collect()
}

#[test]
fn status_lists_every_migration_as_pending_then_applied() {
    for backend in [Backend::Sqlite, Backend::Postgresql] {
        let Some(database) = TestDatabase::create_empty(backend) else {
            continue;
        };
        let names = migration_names(backend);

        let before = mercado(&database.url, &["migrate", "--status"]);
        mercado(&database.url, &["migrate"]);
        let after = mercado(&database.url, &["migrate", "--status"]);

        assert!(names.len() >= 2, "{names:?}");
        assert_eq!(listed(&before), all("pending", &names), "{backend:?}");
        assert_eq!(listed(&after), all("applied", &names), "{backend:?}");
        assert!(
            before
                .stdout
                .starts_with(&format!("migrations of the {} database", backend.name())),
            "{}",
            before.stdout
        );
    }
}

#[test]
fn revert_undoes_the_newest_migration_and_migrate_applies_it_again() {
    for backend in [Backend::Sqlite, Backend::Postgresql] {
        let Some(database) = TestDatabase::create(backend) else {
            continue;
        };
        let names = migration_names(backend);
        let (newest, older) = names.split_last().unwrap();

        let revert = mercado(&database.url, &["migrate", "--revert"]);
        let status = mercado(&database.url, &["migrate", "--status"]);
        let again = mercado(&database.url, &["migrate"]);

        assert_eq!(revert.code, Some(0), "{}", revert.stderr);
        assert!(
            revert
                .stdout
                .starts_with(&format!("reverted {newest} on the")),
            "{}",
            revert.stdout
        );
        let mut expected = all("applied", older);
        expected.push(("pending".to_string(), newest.clone()));
        assert_eq!(listed(&status), expected, "{backend:?}");
        assert!(
            again.stdout.starts_with("applied 1 migration(s)"),
            "{}",
            again.stdout
        );
    }
}

/// A `down.sql` can drop data, and a revert is typed by hand: with customers in the database it
/// wants `--yes`, refuses with one line that says so, and changes nothing.
#[test]
fn revert_wants_yes_when_the_database_has_customers() {
    for backend in [Backend::Sqlite, Backend::Postgresql] {
        let Some(database) = TestDatabase::create(backend) else {
            continue;
        };
        let seed = ["seed", "--customers", "3", "--orders-per-customer", "1"];
        assert_eq!(mercado(&database.url, &seed).code, Some(0));
        let names = migration_names(backend);

        let refused = mercado(&database.url, &["migrate", "--revert"]);
        let status = mercado(&database.url, &["migrate", "--status"]);
        let confirmed = mercado(&database.url, &["migrate", "--revert", "--yes"]);

        assert_eq!(refused.code, Some(1));
        let newest = names.last().unwrap();
        assert_eq!(
            refused.stderr.lines().collect::<Vec<_>>(),
            [format!(
                "mercado: refusing to revert {newest}: the {} database {} has customers \
                 (run again with --yes to revert it anyway)",
                backend.name(),
                database.target().redacted()
            )]
        );
        assert_eq!(listed(&status), all("applied", &names), "nothing reverted");
        assert_eq!(confirmed.code, Some(0), "{}", confirmed.stderr);
        assert!(confirmed.stdout.starts_with(&format!("reverted {newest}")));
    }
}

#[test]
fn revert_on_a_database_with_no_migration_says_there_is_nothing_to_do() {
    for backend in [Backend::Sqlite, Backend::Postgresql] {
        let Some(database) = TestDatabase::create_empty(backend) else {
            continue;
        };

        let run = mercado(&database.url, &["migrate", "--revert"]);

        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert!(
            run.stdout.starts_with("nothing to revert"),
            "{}",
            run.stdout
        );
    }
}

/// `--yes` belongs to `--revert`, and `--status` changes nothing, so it cannot be combined with
/// `--revert`: both are usage errors (exit status 2) before any database is opened.
#[test]
fn migrate_flags_that_do_not_go_together_are_usage_errors() {
    for args in [
        &["migrate", "--yes"][..],
        &["migrate", "--status", "--revert"],
    ] {
        let run = mercado("unused.db", args);

        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
    }
    assert!(!std::path::Path::new("unused.db").exists());
}
