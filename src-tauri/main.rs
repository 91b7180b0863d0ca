// Without a console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// automerge and derivation allocate a great deal; a cold start spends about a tenth less time
/// with mimalloc than with the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Not in a test build: `cargo test --all-targets` compiles this file as a test harness too (its
/// `--bins` ignores `test = false`), at the same time as the binary itself, and two expansions
/// of `generate_context!` write the same generated UI assets at once — the app then embeds a
/// truncated UI and opens a blank window. The harness brings its own `main`.
#[cfg(not(test))]
fn main() {
    openptw_app::run(tauri::generate_context!());
}
