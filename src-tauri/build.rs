//! tauri-build reads `tauri.conf.json` beside the root Cargo.toml; the capabilities live in
//! `src-tauri/capabilities/` (the default would be `./capabilities/` at the repository root).

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    tauri_build::try_build(tauri_build::Attributes::new().capabilities_path_pattern("src-tauri/capabilities/**/*"))
        .expect("tauri-build failed (tauri.conf.json, src-tauri/capabilities/ or icons/)");
}
