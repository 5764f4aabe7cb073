//! Rebuilds the crate when a migration is added, changed or removed.
//!
//! `embed_migrations!` in src/db.rs copies every migration into the binary at compile time.
//! Cargo notices edits to the files it copied, but not a new migration directory: without this
//! line, a freshly added migration is silently missing from the binary until something else
//! changes. (Diesel's own guide recommends the same build script.)
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
