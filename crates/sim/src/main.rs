//! `ptw-sim`: one headless openptw device on a database file — enrol it with a
//! `ptw-sync-server` (which holds the plant), make permits and events as the demo people, and
//! sync.

/// The same allocator as the app (see the workspace Cargo.toml), so the simulated device runs
/// as a tablet does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, Subcommand};
use ptw_sim::{edit, report_json, People};
use ptw_store::Store;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "ptw-sim", about = "A headless openptw device (a tablet without a screen)")]
struct Cli {
    /// The device's database file (created on first use).
    #[arg(long)]
    db: PathBuf,
    /// Device name, stored on first use and sent at enrolment.
    #[arg(long, default_value = "ptw-sim")]
    name: String,
    /// Sync server URL (for `enrol` with a typed code), e.g. http://127.0.0.1:8080
    #[arg(long)]
    server: Option<String>,
    /// One-time enrolment code from `ptw-sync-server device enrol` (for `enrol`): the code, or
    /// the whole QR text (which also pins the server's keys).
    #[arg(long)]
    code: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Enrol this device using --code (and --server with a typed code); the next `sync` brings
    /// the plant's registry and permits.
    Enrol,
    /// Create permits as the demo applicant and move each along its workflow.
    Edit {
        #[arg(long, default_value_t = 1)]
        permits: usize,
        #[arg(long, default_value_t = 1)]
        events_per_permit: usize,
    },
    /// One sync round; prints the report as one JSON line.
    Sync,
    /// What this device shows of permit `--number`, as one JSON line: its status, presence
    /// trail, photos and handwritten signatures, each picture fetched (from the server when this
    /// device lacks it) and checked against its hash. `--save DIR` writes the pictures there,
    /// named by their hash.
    Show {
        #[arg(long)]
        number: String,
        #[arg(long)]
        save: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let now = Utc::now();
    let mut store = Store::open(&cli.db, &cli.name, now).with_context(|| format!("opening {}", cli.db.display()))?;
    match cli.command {
        Cmd::Enrol => {
            let code = cli.code.context("enrol needs --code CODE (or the QR text)")?;
            match ptw_core::sync::EnrolQr::parse(&code) {
                Some(qr) => store.enrol_qr(&qr).context("enrolment")?,
                None => store
                    .enrol(&cli.server.context("enrol with a typed code needs --server URL")?, &code)
                    .context("enrolment")?,
            }
            let id = store.device_id().map(|d| d.to_string()).unwrap_or_default();
            println!("enrolled device {id}; `sync` brings the plant");
        }
        Cmd::Edit { permits, events_per_permit } => {
            anyhow::ensure!(!store.is_empty(), "no plant on this device: enrol it first");
            let people = People::demo()?;
            let ids = edit(&mut store, &people, permits, events_per_permit, now).context("editing")?;
            println!("{} permits, {} changes waiting to sync", ids.len(), store.pending_changes()?);
        }
        Cmd::Sync => {
            let report = store.sync_now(now).context("sync")?;
            println!("{}", report_json(&report));
        }
        Cmd::Show { number, save } => println!("{}", ptw_sim::show(&mut store, &number, save.as_deref(), now)?),
    }
    Ok(())
}
