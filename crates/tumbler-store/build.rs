//! Rebuilds the crate when a migration file is added, so `sqlx::migrate!` embeds it.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
