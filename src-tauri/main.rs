// Without a console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// automerge and derivation allocate a great deal; a cold start spends about a tenth less time
/// with mimalloc than with the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    openptw_app::run(tauri::generate_context!());
}
