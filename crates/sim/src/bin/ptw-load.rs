//! `ptw-load`: a load generator for `ptw-sync-server`. Not run by tests.
//!
//! It starts its own server process on loopback with a fresh data directory, then:
//!
//! 1. **Reconnect storm** — prepares `--devices` device stores (each enrolled, holding the plant's
//!    registry pulled from the server, then `--permits-per-device` new permits made offline), and lets
//!    them all push at once (or `--concurrency` at a time): changes/s durable on the server (the
//!    server acknowledges a change only once it is stored), bytes on the wire, round trips.
//! 2. **Cold device** — one device makes `--cold-permits` permits and pushes them; a fresh
//!    device then pulls and applies everything: changes/s applied on the device.
//!
//! The server's peak resident memory (VmHWM from /proc) is printed at the end.
//!
//! Usage (from a checkout; release figures are the meaningful ones):
//!
//!   cargo build --release -p ptw-sync-server -p ptw-sim
//!   target/release/ptw-load --devices 200 --permits-per-device 10 --cold-permits 10000

use anyhow::{bail, Context};
use chrono::Utc;
use clap::Parser;
use ptw_sim::{edit, People};
use ptw_store::{Store, SyncOptions, SyncReport, PUSH_BATCH};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "ptw-load",
    about = "Load generator for ptw-sync-server: a reconnect storm of many devices, then a cold device pulling a large plant",
    long_about = None,
    after_help = "Example:\n  cargo build --release -p ptw-sync-server -p ptw-sim\n  target/release/ptw-load --devices 200 --permits-per-device 10 --cold-permits 10000\n\nThe server binary is looked up next to this one unless --server-bin is given."
)]
struct Args {
    /// The ptw-sync-server binary to start (default: next to this executable).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Where to keep the server data and device databases (default: a new directory under the
    /// system temp dir, removed at the end unless --keep).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    #[arg(long)]
    keep: bool,
    /// Devices in the reconnect storm.
    #[arg(long, default_value_t = 200)]
    devices: usize,
    /// Permits each storm device makes offline before reconnecting.
    #[arg(long, default_value_t = 10)]
    permits_per_device: usize,
    /// Events added to each of those permits (each is one more change).
    #[arg(long, default_value_t = 0)]
    events_per_permit: usize,
    /// Devices syncing at the same time in the storms (default: all of them at once, as when
    /// the network comes back to a plant).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Permits for the cold-device pull (0 skips it).
    #[arg(long, default_value_t = 10_000)]
    cold_permits: usize,
    /// Events on each of those permits after it is made (submit, approvals, gas test, start…;
    /// each one change), so they look like a plant's permits rather than blank drafts.
    #[arg(long, default_value_t = 8)]
    cold_events_per_permit: usize,
}

/// Devices prepared at the same time before the storms (not measured).
const PREPARE_WORKERS: usize = 16;

struct Server {
    child: Child,
    bin: PathBuf,
    data: PathBuf,
    url: String,
}

impl Server {
    fn start(bin: &Path, data: &Path) -> anyhow::Result<Server> {
        let mut child = Command::new(bin)
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("server stdout")?;
        let addr = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("listening on ").map(|a| a.trim().to_string()))
            .context("the server did not print its address")?;
        Ok(Server { child, bin: bin.to_path_buf(), data: data.to_path_buf(), url: format!("http://{addr}") })
    }

    /// Run the admin CLI on the server's data directory.
    fn admin(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new(&self.bin).arg("--data-dir").arg(&self.data).args(args).output()?;
        if !out.status.success() {
            bail!("{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    }

    fn enrol_code(&self, name: &str) -> anyhow::Result<String> {
        let out = Command::new(&self.bin)
            .arg("--data-dir")
            .arg(&self.data)
            .args(["device", "enrol", "--name", name, "--url", &self.url])
            .output()?;
        if !out.status.success() {
            bail!("device enrol failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.lines()
            .find_map(|l| l.split_once("Enrolment code for ").and_then(|(_, rest)| rest.split_once(": ")))
            .map(|(_, code)| code.trim().to_string())
            .with_context(|| format!("no enrolment code in: {text}"))
    }

    /// Documents the server has yet to compact, from `GET /health`.
    fn compaction_backlog(&self) -> anyhow::Result<u64> {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr)?;
        write!(stream, "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        let body = answer.split("\r\n\r\n").nth(1).context("no body in the health answer")?;
        let health: serde_json::Value = serde_json::from_str(body).context("health is not JSON")?;
        health["compaction_backlog"].as_u64().context("no compaction_backlog in the health answer")
    }

    /// User + system CPU seconds the server used so far (from /proc; 0 where there is none).
    fn cpu_secs(&self) -> f64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())) else { return 0.0 };
        // Fields after the command name, which is in parentheses and may hold spaces.
        let Some((_, rest)) = stat.rsplit_once(')') else { return 0.0 };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<f64>().ok()).sum();
        ticks / 100.0
    }

    /// Peak resident set size so far, in KiB.
    fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status.lines().find_map(|l| l.strip_prefix("VmHWM:")?.trim().strip_suffix("kB")?.trim().parse().ok())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `f` over `items`, `workers` at a time.
fn parallel<T: Send, R: Send>(
    items: Vec<T>,
    workers: usize,
    f: impl Fn(T) -> anyhow::Result<R> + Sync,
) -> anyhow::Result<Vec<R>> {
    let queue = Mutex::new(items.into_iter().enumerate().collect::<Vec<_>>());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| loop {
                let Some((i, item)) = queue.lock().expect("queue").pop() else { return };
                let r = f(item);
                results.lock().expect("results").push((i, r));
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

fn device_name(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default()
}

fn add(total: &mut SyncReport, r: &SyncReport) {
    total.pushed += r.pushed;
    total.acked += r.acked;
    total.refused.extend(r.refused.iter().cloned());
    total.pulled += r.pulled;
    total.applied += r.applied;
    total.snapshots += r.snapshots;
    total.apply_ms += r.apply_ms;
    total.round_trips += r.round_trips;
    total.bytes_sent += r.bytes_sent;
    total.bytes_received += r.bytes_received;
}

fn per_sec(n: usize, secs: f64) -> f64 {
    n as f64 / secs.max(1e-9)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // reqwest builds its TLS set-up even for http:// and needs a crypto provider to exist.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bin = match &args.server_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("executable directory")?
            .join(format!("ptw-sync-server{}", std::env::consts::EXE_SUFFIX)),
    };
    let work = match &args.work_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("ptw-load-{}", std::process::id())),
    };
    std::fs::create_dir_all(work.join("devices"))?;
    let result = run(&args, &bin, &work);
    if !args.keep && args.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    result
}

fn run(args: &Args, bin: &Path, work: &Path) -> anyhow::Result<()> {
    let server = Server::start(bin, &work.join("server"))?;
    println!("server {} (pid {}), work dir {}", server.url, server.child.id(), work.display());
    let people = People::demo()?;
    let now = Utc::now();

    // The plant: seeded once on the server (Argon2 PIN hashes are the slow part); every device
    // pulls its registry.
    let t = Instant::now();
    server.admin(&["demo", "seed"])?;
    let mut origin = Store::open(&work.join("devices/origin.db"), "origin", now)?;
    origin.enrol(&server.url, &server.enrol_code("origin")?)?;
    origin.sync_now(now)?;
    println!("seeded the plant on the server in {:.1}s", t.elapsed().as_secs_f64());

    let storm_workers = args.concurrency.unwrap_or(args.devices).max(1);
    // Storm devices: enrol, pull the plant, push their key, then edit offline.
    let t = Instant::now();
    let prepared = AtomicUsize::new(0);
    let paths: Vec<PathBuf> = (0..args.devices).map(|i| work.join(format!("devices/d{i:04}.db"))).collect();
    let stores = parallel(paths.clone(), PREPARE_WORKERS, |path| {
        let name = device_name(&path);
        let mut store = Store::open(&path, &name, now)?;
        store.enrol(&server.url, &server.enrol_code(&name)?)?;
        store.sync_now(now)?; // the plant's registry
        edit(&mut store, &people, args.permits_per_device, args.events_per_permit, now)?;
        let n = prepared.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(50) {
            println!("  prepared {n}/{} devices", args.devices);
        }
        Ok(store)
    })?;
    println!("prepared {} devices in {:.1}s", args.devices, t.elapsed().as_secs_f64());

    // Storm 1, the server's intake: every device's outbox is turned into its push request
    // beforehand, then all are sent at once from a light client — what the server sees when
    // 200 real tablets (each with its own CPU and disk) reconnect. The acknowledgements are
    // then recorded on each device, as its own sync would.
    let mut prepared_pushes = Vec::new();
    let mut intake_waiting = 0;
    for (store, path) in stores.iter().zip(&paths) {
        let token = store.sync_token()?.with_context(|| format!("{} is not enrolled", path.display()))?;
        let page = store.outbox_page(PUSH_BATCH)?;
        intake_waiting += page.len();
        let changes = page
            .into_iter()
            .map(|c| ptw_core::sync::WireChange { doc_id: c.doc_id, kind: c.kind, hash: c.hash, bytes: c.bytes })
            .collect();
        prepared_pushes.push((token, serde_json::to_string(&ptw_core::sync::PushRequest { changes })?));
    }
    let sent: usize = prepared_pushes.iter().map(|(_, body)| body.len()).sum();
    let cpu_before = server.cpu_secs();
    let t = Instant::now();
    let http = reqwest::blocking::Client::new();
    let answers = parallel(prepared_pushes, storm_workers, |(token, body)| {
        let resp = http
            .post(format!("{}/api/sync/push", server.url))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()?;
        anyhow::ensure!(resp.status().is_success(), "push answered {}", resp.status());
        Ok(serde_json::from_str::<ptw_core::sync::PushResponse>(&resp.text()?)?)
    })?;
    let intake_secs = t.elapsed().as_secs_f64();
    let intake_cpu = server.cpu_secs() - cpu_before;
    let acked: usize = answers.iter().map(|a| a.acked.len()).sum();
    println!("\n== reconnect storm, server intake: {} devices, {storm_workers} at a time ==", args.devices);
    println!("changes pushed        {intake_waiting}");
    println!("changes acknowledged  {acked} (refused {})", answers.iter().map(|a| a.refused.len()).sum::<usize>());
    println!("wall time             {intake_secs:.2}s");
    println!("durable on server     {:.0} changes/s", per_sec(acked, intake_secs));
    println!("round trips           {} (1 per device)", answers.len());
    println!("bytes sent            {sent} ({:.0} per change)", sent as f64 / acked.max(1) as f64);
    println!("server CPU            {intake_cpu:.2}s ({:.0}% of one core)", 100.0 * intake_cpu / intake_secs.max(1e-9));
    println!("server peak RSS       {} KiB", server.peak_rss_kib().unwrap_or(0));
    let mut stores = stores;
    for (store, answer) in stores.iter_mut().zip(&answers) {
        store.acknowledge(&answer.acked)?;
    }
    // Storm 2, end to end: each device makes as much again offline, then syncs itself — its
    // own JSON, HTTP and fsyncs included, all 200 devices sharing this machine's cores and disk.
    for store in &mut stores {
        edit(store, &people, args.permits_per_device, args.events_per_permit, now)?;
    }
    let mut waiting = 0;
    for store in &stores {
        waiting += store.pending_changes()?;
    }
    let cpu_before = server.cpu_secs();
    let t = Instant::now();
    let reports = parallel(stores, storm_workers, |mut store| {
        let pushes = (store.pending_changes()? as usize).div_ceil(PUSH_BATCH).max(1);
        // Push only: the pull that follows a real reconnect is measured by the cold device.
        Ok(store.sync_now_with(now, SyncOptions { max_requests: pushes, ..SyncOptions::default() })?)
    })?;
    let storm_secs = t.elapsed().as_secs_f64();
    let storm_cpu = server.cpu_secs() - cpu_before;
    let mut storm = SyncReport::default();
    reports.iter().for_each(|r| add(&mut storm, r));
    println!("\n== reconnect storm, end to end: {} devices, {storm_workers} at a time ==", args.devices);
    println!("changes waiting       {waiting}");
    println!("changes acknowledged  {} (refused {})", storm.acked, storm.refused.len());
    println!("wall time             {storm_secs:.2}s");
    println!("durable on server     {:.0} changes/s", per_sec(storm.acked, storm_secs));
    println!(
        "round trips           {} ({:.2} per device)",
        storm.round_trips,
        storm.round_trips as f64 / args.devices as f64
    );
    println!(
        "bytes sent            {} ({:.0} per change)",
        storm.bytes_sent,
        storm.bytes_sent as f64 / storm.acked.max(1) as f64
    );
    println!("bytes received        {}", storm.bytes_received);
    println!("server CPU            {storm_cpu:.2}s ({:.0}% of one core)", 100.0 * storm_cpu / storm_secs.max(1e-9));
    println!("server peak RSS       {} KiB", server.peak_rss_kib().unwrap_or(0));

    if args.cold_permits > 0 {
        let t = Instant::now();
        let ids = edit(&mut origin, &people, args.cold_permits, args.cold_events_per_permit, now)?;
        let make_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let pushed = origin.sync_now(now)?;
        let push_secs = t.elapsed().as_secs_f64();
        println!("\n== cold device ==");
        println!(
            "made {} permits on one device in {make_secs:.1}s ({:.0}/s)",
            ids.len(),
            per_sec(ids.len(), make_secs)
        );
        println!(
            "pushed {} changes in {push_secs:.1}s ({:.0} changes/s durable, {} round trips, {} bytes sent)",
            pushed.acked,
            per_sec(pushed.acked, push_secs),
            pushed.round_trips,
            pushed.bytes_sent
        );
        // The server compacts in idle time; a cold device normally meets a server that has.
        let t = Instant::now();
        while server.compaction_backlog()? > 0 {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        println!("server compacted in   {:.1}s", t.elapsed().as_secs_f64());
        // The cold device is its own process, as a real tablet is: nothing this process has
        // verified or cached helps it.
        let sim = bin.with_file_name(format!("ptw-sim{}", std::env::consts::EXE_SUFFIX));
        let cold_db = work.join("devices/cold.db");
        let device = |args: &[&str]| -> anyhow::Result<String> {
            let out = Command::new(&sim).arg("--db").arg(&cold_db).args(["--name", "cold"]).args(args).output()?;
            if !out.status.success() {
                bail!("ptw-sim {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            Ok(String::from_utf8_lossy(&out.stdout).to_string())
        };
        let code = server.enrol_code("cold")?;
        device(&["--server", &server.url, "--code", &code, "enrol"])?;
        let t = Instant::now();
        let out = device(&["sync"])?;
        let secs = t.elapsed().as_secs_f64();
        let r: serde_json::Value = serde_json::from_str(out.trim()).context("ptw-sim sync report")?;
        let n = |k: &str| r[k].as_u64().unwrap_or(0) as usize;
        println!(
            "fresh device pulled   {} changes, applied {} ({} documents compacted), in its own process",
            n("pulled"),
            n("applied"),
            n("snapshots")
        );
        println!(
            "pull + apply time     {secs:.2}s (process start included; applying {:.2}s)",
            n("apply_ms") as f64 / 1000.0
        );
        println!("applied on device     {:.0} changes/s", per_sec(n("applied"), secs));
        println!("round trips           {}", n("round_trips"));
        println!(
            "bytes received        {} ({:.0} per change)",
            n("bytes_received"),
            n("bytes_received") as f64 / n("pulled").max(1) as f64
        );
        println!("server peak RSS       {} KiB", server.peak_rss_kib().unwrap_or(0));
    }
    Ok(())
}
