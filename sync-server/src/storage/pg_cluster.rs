//! Test support: a real, throw-away PostgreSQL cluster for this test binary, and a fresh database
//! in it per test. Compiled into the library's unit tests and, by `#[path]`, into the HTTP tests
//! (`tests/common/mod.rs`), so it uses nothing of the crate.
//!
//! One cluster per test binary (started on first use, on 127.0.0.1 at a free port, trust auth,
//! its unix socket in its own temp dir); one `CREATE DATABASE` per test, so tests running in
//! parallel threads never see each other's rows. The cluster is stopped with
//! `pg_ctl stop -m immediate` when the test binary exits (an `atexit` hook drops the guard), and a
//! watchdog process stops it too if the binary dies without exiting.
//!
//! PostgreSQL refuses to run as root: when the tests run as root, the cluster's directory is given
//! to the `postgres` user and `initdb`/`pg_ctl` run through `runuser -u postgres --`.
//! Missing PostgreSQL binaries fail the tests, they are never skipped.
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Where Debian installs PostgreSQL, one directory per major version.
const PG_LIB: &str = "/usr/lib/postgresql";

/// The running cluster: stopped and removed when dropped.
pub struct Cluster {
    pub port: u16,
    bin: PathBuf,
    as_postgres: bool,
    data: PathBuf,
    dir: Option<tempfile::TempDir>,
}

/// The cluster's address, once started.
static STARTED: OnceLock<u16> = OnceLock::new();
/// The guard, taken and dropped by the exit hook.
static GUARD: Mutex<Option<Cluster>> = Mutex::new(None);
/// Serialises `CREATE DATABASE` (it copies template1, which must not be busy).
static CREATE: Mutex<()> = Mutex::new(());
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// A URL to a new, empty database in this binary's cluster (started on first call).
pub fn fresh_database_url() -> String {
    let port = *STARTED.get_or_init(start);
    let name = format!("ptw_test_{}", NEXT_DB.fetch_add(1, Ordering::Relaxed));
    {
        let _one_at_a_time = CREATE.lock().unwrap_or_else(|p| p.into_inner());
        let mut admin = postgres::Client::connect(&url(port, "postgres"), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to the test PostgreSQL on port {port}: {e}"));
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap_or_else(|e| panic!("create {name}: {e}"));
    }
    url(port, &name)
}

fn url(port: u16, db: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/{db}")
}

/// The newest PostgreSQL's `bin` directory under /usr/lib/postgresql, or a failure saying what to install.
fn pg_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(PG_LIB)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is not installed (no {PG_LIB}/<version>/bin/initdb): the PostgreSQL storage tests need a \
             real server. Run `./openptw setup` (it installs Debian's `postgresql` package)."
        ),
    }
}

fn start() -> u16 {
    let bin = pg_bin();
    let dir = tempfile::Builder::new().prefix("ptw-pg-").tempdir().expect("temp dir for the test cluster");
    let as_postgres = std::fs::metadata(dir.path()).expect("stat the temp dir").uid() == 0;
    if as_postgres {
        run(Command::new("chown").args(["postgres:postgres"]).arg(dir.path()), "chown the cluster dir to postgres");
    }
    let data = dir.path().join("data");
    let port = free_port();
    let cluster = Cluster { port, bin, as_postgres, data, dir: Some(dir) };
    run(
        cluster
            .pg("initdb")
            .args(["--auth=trust", "--username=postgres", "--no-sync", "--encoding=UTF8", "-D"])
            .arg(&cluster.data),
        "initdb",
    );
    let socket_dir = cluster.data.parent().expect("the cluster dir").to_owned();
    let options = format!(
        "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c max_connections=200",
        socket_dir.display()
    );
    let log = socket_dir.join("postgres.log");
    let started = cluster
        .pg("pg_ctl")
        .args(["start", "-w", "-t", "60", "-D"])
        .arg(&cluster.data)
        .arg("-l")
        .arg(&log)
        .args(["-o", &options])
        .stdout(Stdio::null())
        .status()
        .expect("run pg_ctl start");
    if !started.success() {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        panic!("the test PostgreSQL did not start on port {port}:\n{log}");
    }
    watchdog(&cluster);
    *GUARD.lock().unwrap_or_else(|p| p.into_inner()) = Some(cluster);
    // SAFETY: registering a plain `extern "C" fn` with the C library's atexit.
    unsafe {
        atexit(stop_at_exit);
    }
    port
}

extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
}

extern "C" fn stop_at_exit() {
    if let Ok(mut guard) = GUARD.lock() {
        drop(guard.take());
    }
}

impl Cluster {
    /// A PostgreSQL program, run as the `postgres` user when we are root.
    fn pg(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn stop_command(&self) -> String {
        let pg_ctl = self.bin.join("pg_ctl");
        let runuser = if self.as_postgres { "runuser -u postgres -- " } else { "" };
        format!("{runuser}{} stop -m immediate -D {}", pg_ctl.display(), self.data.display())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ =
            self.pg("pg_ctl").args(["stop", "-m", "immediate", "-D"]).arg(&self.data).stdout(Stdio::null()).status();
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}

/// A shell that waits for this test process to end, however it ends, then stops the cluster and
/// removes its directory (a no-op when the exit hook already did).
fn watchdog(cluster: &Cluster) {
    let dir = cluster.data.parent().map(Path::to_owned).unwrap_or_default();
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        stop = cluster.stop_command(),
        dir = dir.display(),
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("find a free port");
    listener.local_addr().expect("local addr").port()
}

fn run(command: &mut Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
