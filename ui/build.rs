//! The translations are compiled in by `leptos_i18n::load_locales!()` (a proc macro), which cargo
//! does not know reads `locales/*.json`: this script only tells cargo to rebuild when they change.
fn main() {
    println!("cargo::rerun-if-changed=locales");
    println!("cargo::rerun-if-changed=Cargo.toml");
}
