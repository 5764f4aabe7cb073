//! The `mercado` binary itself, run as a user would run it.

use std::process::Command;

use mercado::db::Backend;

use crate::helpers::{mercado, TestDatabase};

/// `seed --reset` empties whatever `DATABASE_URL` points at, so it says which database that is
/// before it starts and again when it is done, never with a password.
#[test]
fn seed_reset_names_the_database_it_empties_without_its_password() {
    for backend in [Backend::Sqlite, Backend::Postgresql] {
        let Some(database) = TestDatabase::create(backend) else {
            continue;
        };
        // PostgreSQL here trusts local connections, so a password in the URL is accepted and
        // ignored: exactly the case where it must not be printed.
        let url = database
            .url
            .replacen("postgres://postgres@", "postgres://postgres:hunter2@", 1);
        let args = [
            "seed",
            "--customers",
            "5",
            "--orders-per-customer",
            "2",
            "--reset",
        ];

        let run = mercado(&url, &args);
        let stdout = run.stdout;

        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let lines: Vec<&str> = stdout.lines().collect();
        let where_ = database.url.rsplit('/').next().unwrap();
        assert!(
            lines[0].starts_with("emptying every table of the") && lines[0].contains(where_),
            "{backend:?}: {stdout}"
        );
        let last = lines.last().unwrap();
        assert!(
            last.starts_with("seeded") && last.contains(where_),
            "{stdout}"
        );
        assert!(last.contains("orders 10 "), "exactly 5 x 2 orders: {last}");
        assert!(!stdout.contains("hunter2"), "{stdout}");
    }
}

/// A bad setting stops start-up with one line naming the variable, the value, and what would
/// have been accepted.
#[test]
fn a_bad_setting_says_the_accepted_values_in_one_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_mercado"))
        .arg("migrate")
        .env("MERCADO_N_PLUS_ONE_THRESHOLD", "1")
        .output()
        .expect("run mercado");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(
        stderr.trim(),
        "mercado: MERCADO_N_PLUS_ONE_THRESHOLD=\"1\" is not valid: expected a whole number, 2 or more"
    );
}
