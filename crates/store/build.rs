//! The migrations are embedded in the binary (`sqlx::migrate!`): build again when one is
//! added or changed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
