//! openptw's developer entry points. Run through `./openptw <command>` (which also sets
//! `CARGO_TARGET_DIR` and `PATH`) or `cargo xtask <command>`.
//!
//! Every step prints a header, streams its output and stops the run (exit code 1) on failure.
//! Std only on purpose: this must compile in seconds on a fresh clone.

use std::{
    env,
    ffi::{OsStr, OsString},
    fmt, fs,
    path::{Path, PathBuf},
    process::{Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

const USAGE: &str = "\
usage: ./openptw <command> [args]

commands:
  setup   install what is missing: apt packages, the wasm32 target, trunk, wasm-bindgen-cli,
          tauri-driver (into ~/.cache/openptw/tools) and the e2e Python venv
  run     setup, build the UI and the app, start the demo plant's sync server (HTTPS, on
          127.0.0.1:8787) and open the app enrolled with it (extra args go to the app)
  test    setup, then fmt, UI build, clippy, every unit/integration test, the e2e tests
  bench   criterion benchmarks of ptw-core and ptw-store, optimised (extra args go to cargo bench)
  e2e     setup, build the UI and the app, run the end-to-end tests in the real window
          (extra args go to pytest, e.g. `./openptw e2e -k smoke`)
";

/// Debian packages: Tauri build, headless window tests, CJK fonts.
const APT_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "libwebkit2gtk-4.1-dev",
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "imagemagick",
    "dbus-x11",
    "at-spi2-core",
    "fonts-noto-cjk",
    "fonts-dejavu-core",
    // The sync server's second storage backend; its tests start a private cluster on loopback.
    "postgresql",
];

struct Tool {
    krate: &'static str,
    version: &'static str,
    /// `--locked` (wasm-bindgen-cli's lock file names a webpki-roots the registry lacks).
    locked: bool,
    bin: &'static str,
}

/// Cargo-installed tools. wasm-bindgen-cli must equal the `wasm-bindgen` crate pinned in
/// ui/Cargo.toml and `[tools]` in ui/Trunk.toml; trunk 0.22 needs a newer rustc.
const TOOLS: &[Tool] = &[
    Tool { krate: "trunk", version: "0.21.14", locked: true, bin: "trunk" },
    Tool { krate: "wasm-bindgen-cli", version: "0.2.130", locked: false, bin: "wasm-bindgen" },
    Tool { krate: "tauri-driver", version: "2.1.0", locked: true, bin: "tauri-driver" },
];

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Where `./openptw run` serves the demo plant (HTTPS, the certificate pinned by the app).
const DEMO_BIND: &str = "127.0.0.1:8787";
const DEMO_URL: &str = "https://127.0.0.1:8787";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let mut x = match Xtask::new() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("openptw: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match command.as_str() {
        "setup" => x.setup(),
        "run" => x.run(rest),
        "test" => x.test(),
        "bench" => x.bench(rest),
        "e2e" => x.setup().and_then(|()| x.e2e(rest)),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!("openptw: unknown command `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    x.print_timings();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nopenptw {command}: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug)]
struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error(e.to_string())
    }
}

impl From<String> for Error {
    fn from(e: String) -> Self {
        Error(e)
    }
}

type Result<T = ()> = std::result::Result<T, Error>;

fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error(msg.into()))
}

struct Xtask {
    /// The repository root.
    root: PathBuf,
    /// `~/.cache/openptw`: tools, target dirs, venv. Outside the clone, kept between runs.
    cache: PathBuf,
    /// Cargo target dir of the root workspace.
    target: PathBuf,
    /// Cargo target dir of the ui workspace (wasm32).
    target_ui: PathBuf,
    /// PATH for children: the tools' bin first.
    path: OsString,
    /// (step, duration) in order, printed at the end.
    timings: Vec<(String, Duration)>,
    setup_done: bool,
    ui_built: bool,
}

impl Xtask {
    fn new() -> Result<Self> {
        // The checkout this run is for, found at run time: one xtask binary in the shared target
        // dir serves every checkout (a CI clone elsewhere must not point a local run at itself).
        let root = match env::var_os("OPENPTW_ROOT").filter(|r| !r.is_empty()) {
            Some(r) => PathBuf::from(r),
            None => env::current_dir().map_err(|e| Error(format!("cannot read the current directory: {e}")))?,
        };
        if !root.join("xtask").is_dir() || !root.join("Cargo.toml").is_file() {
            return Err(Error(format!(
                "{} is not an openptw checkout; run ./openptw from the repository",
                root.display()
            )));
        }
        let home = env::var_os("HOME").filter(|h| !h.is_empty()).ok_or_else(|| Error("HOME is not set".into()))?;
        let cache = PathBuf::from(home).join(".cache/openptw");
        let target = match env::var_os("CARGO_TARGET_DIR").filter(|t| !t.is_empty()) {
            Some(t) => PathBuf::from(t),
            None => cache.join("target"),
        };
        let target_ui = cache.join("target-ui");
        let tools_bin = cache.join("tools/bin");
        let mut paths = vec![tools_bin];
        if let Some(p) = env::var_os("PATH") {
            paths.extend(env::split_paths(&p).filter(|p| p != &cache.join("tools/bin")));
        }
        let path = env::join_paths(paths).map_err(|e| Error(e.to_string()))?;
        Ok(Xtask { root, cache, target, target_ui, path, timings: Vec::new(), setup_done: false, ui_built: false })
    }

    fn tools_root(&self) -> PathBuf {
        self.cache.join("tools")
    }

    fn venv(&self) -> PathBuf {
        self.cache.join("venv")
    }

    fn app_binary(&self) -> PathBuf {
        self.target.join("debug/openptw")
    }

    fn artifacts(&self) -> PathBuf {
        self.root.join("artifacts/e2e")
    }

    /// A command with the tools on PATH, the workspace target dir and cwd = repository root.
    fn cmd(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("PATH", &self.path).env("CARGO_TARGET_DIR", &self.target).current_dir(&self.root);
        c
    }

    fn cargo(&self) -> Command {
        self.cmd(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
    }

    /// A cargo command for the ui workspace (its own target dir).
    fn cargo_ui(&self) -> Command {
        let mut c = self.cargo();
        c.env("CARGO_TARGET_DIR", &self.target_ui).current_dir(self.root.join("ui"));
        c
    }

    /// Runs a titled step, recording how long it took.
    fn step<T>(&mut self, title: &str, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        println!("\n==> {title}");
        let start = Instant::now();
        let result = f(self);
        let took = start.elapsed();
        self.timings.push((title.to_owned(), took));
        match &result {
            Ok(_) => println!("<== {title}: ok ({})", secs(took)),
            Err(_) => println!("<== {title}: FAILED ({})", secs(took)),
        }
        result
    }

    fn print_timings(&self) {
        if self.timings.is_empty() {
            return;
        }
        println!("\n==> timings");
        let total: Duration = self.timings.iter().map(|(_, d)| *d).sum();
        for (title, took) in &self.timings {
            println!("  {:>8}  {title}", secs(*took));
        }
        println!("  {:>8}  total", secs(total));
    }

    // ----------------------------------------------------------------------------------------
    // setup

    fn setup(&mut self) -> Result {
        if self.setup_done {
            return Ok(());
        }
        let python = self.step("setup: system packages (apt)", |x| x.apt())?;
        self.step("setup: rust target wasm32-unknown-unknown", |x| x.wasm_target())?;
        for tool in TOOLS {
            let title = format!("setup: {} {}", tool.krate, tool.version);
            self.step(&title, |x| x.install_tool(tool))?;
        }
        self.step("setup: e2e Python venv (selenium, pytest)", |x| x.python_venv(&python))?;
        self.setup_done = true;
        Ok(())
    }

    /// Installs missing apt packages; answers the Python to build the venv with.
    fn apt(&mut self) -> Result<PathBuf> {
        let mut wanted: Vec<&str> = APT_PACKAGES.to_vec();
        let python = match find_python_with_venv() {
            Some(p) => p,
            None => {
                // Debian splits venv/ensurepip out of python3.
                wanted.extend(["python3", "python3-venv"]);
                PathBuf::from("/usr/bin/python3")
            }
        };
        if which("dpkg-query", &self.path).is_none() {
            println!(
                "not a Debian-like system: make sure the equivalents of these are installed: {}",
                wanted.join(" ")
            );
            return Ok(python);
        }
        let missing = missing_debian_packages(&wanted)?;
        if missing.is_empty() {
            println!("all {} packages installed", wanted.len());
            return Ok(python);
        }
        println!("missing: {}", missing.join(" "));
        let sudo: Vec<&str> = if is_root() {
            vec![]
        } else if which("sudo", &self.path).is_some()
            && Command::new("sudo").args(["-n", "true"]).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
        {
            vec!["sudo", "-n"]
        } else {
            return fail(format!(
                "these packages are missing and I am not root (nor can sudo without a password):\n  \
                 sudo apt-get update && sudo apt-get install -y {}",
                missing.join(" ")
            ));
        };
        let apt = |args: &[&str]| -> Result {
            let mut all: Vec<&str> = sudo.clone();
            all.push("apt-get");
            all.extend_from_slice(args);
            let mut c = self.cmd(all[0]);
            c.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive").stdin(Stdio::null());
            run(&mut c)
        };
        apt(&["update"])?;
        let mut install = vec!["install", "-y"];
        install.extend(missing.iter().map(String::as_str));
        apt(&install)?;
        Ok(python)
    }

    fn wasm_target(&mut self) -> Result {
        let Some(rustup) = which("rustup", &self.path) else {
            // Without rustup (distribution rustc) the target's std must come with the toolchain.
            println!("rustup not found: make sure rustc has the {WASM_TARGET} target");
            return Ok(());
        };
        let installed = output(self.cmd(&rustup).args(["target", "list", "--installed"]))?;
        if installed.lines().any(|l| l.trim() == WASM_TARGET) {
            println!("{WASM_TARGET} already installed");
            return Ok(());
        }
        run(self.cmd(&rustup).args(["target", "add", WASM_TARGET]))
    }

    fn install_tool(&mut self, tool: &Tool) -> Result {
        let root = self.tools_root();
        let bin = root.join("bin").join(tool.bin);
        if bin.is_file() && installed_version(&root, tool.krate).as_deref() == Some(tool.version) {
            println!("{} {} already installed ({})", tool.krate, tool.version, bin.display());
            return Ok(());
        }
        println!(
            "installing {}@{} into {} (cold: several minutes of compiling)",
            tool.krate,
            tool.version,
            root.display()
        );
        let mut c = self.cargo();
        c.args(["install", "--root"]).arg(&root).env("CARGO_TARGET_DIR", self.cache.join("target-tools"));
        if tool.locked {
            c.arg("--locked");
        }
        c.arg(format!("{}@{}", tool.krate, tool.version));
        run(&mut c)
    }

    fn python_venv(&mut self, python: &Path) -> Result {
        let venv = self.venv();
        let requirements = self.root.join("tests/e2e/requirements.txt");
        let wanted = fs::read_to_string(&requirements)?;
        let stamp = venv.join(".openptw-requirements.txt");
        let vpython = venv.join("bin/python");
        if vpython.is_file()
            && fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str())
            && Command::new(&vpython).args(["-c", "import selenium, pytest"]).status().is_ok_and(|s| s.success())
        {
            println!("{} is up to date", venv.display());
            return Ok(());
        }
        if !vpython.is_file() {
            run(self.cmd(python).args(["-m", "venv"]).arg(&venv))?;
        }
        run(self
            .cmd(&vpython)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r"])
            .arg(&requirements))?;
        fs::write(stamp, wanted)?;
        Ok(())
    }

    // ----------------------------------------------------------------------------------------
    // builds

    /// `trunk build` of ui/ into ui/dist. Must come before anything that compiles the app:
    /// with the `custom-protocol` feature the app embeds ui/dist.
    fn build_ui(&mut self) -> Result {
        if self.ui_built {
            return Ok(());
        }
        self.step("ui: trunk build (ui/ -> ui/dist)", |x| {
            // Two trunk builds at once trample each other's ui/dist/.stage: take turns.
            fs::create_dir_all(&x.target_ui)?;
            let lock = fs::File::create(x.target_ui.join("openptw-trunk.lock"))?;
            if lock.try_lock().is_err() {
                println!("waiting for another `./openptw` trunk build to finish");
                lock.lock()?;
            }
            let mut c = x.cmd("trunk");
            c.arg("build")
                .env("CARGO_TARGET_DIR", &x.target_ui)
                .env("TRUNK_SKIP_VERSION_CHECK", "true")
                .current_dir(x.root.join("ui"));
            run(&mut c)?;
            if !x.root.join("ui/dist/index.html").is_file() {
                return fail("trunk build produced no ui/dist/index.html");
            }
            x.ui_built = true;
            Ok(())
        })
    }

    /// The app (and everything else) with the same package and target set as `cargo test
    /// --workspace --all-targets`, so dev-dependency features unify identically and neither
    /// command rebuilds what the other built.
    fn build_app(&mut self) -> Result {
        self.step("app: cargo build --workspace --all-targets", |x| {
            run(x.cargo().args(["build", "--workspace", "--all-targets"]))?;
            if !x.app_binary().is_file() {
                return fail(format!("no app binary at {}", x.app_binary().display()));
            }
            Ok(())
        })
    }

    // ----------------------------------------------------------------------------------------
    // commands

    fn test(&mut self) -> Result {
        self.setup()?;
        self.step("cargo fmt --all --check (workspace and ui)", |x| {
            run(x.cargo().args(["fmt", "--all", "--check"]))?;
            // Not --all: that would also check path dependencies (ptw-core), already done above.
            run(x.cargo_ui().args(["fmt", "--check"]))
        })?;
        self.build_ui()?;
        self.step("cargo clippy (workspace, all targets, -D warnings)", |x| {
            run(x.cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
        })?;
        self.step("cargo clippy (ui, wasm32, -D warnings)", |x| {
            run(x.cargo_ui().args(["clippy", "--target", WASM_TARGET, "--", "-D", "warnings"]))
        })?;
        self.step("cargo test --workspace --all-targets (benches run once)", |x| {
            run(x.cargo().args(["test", "--workspace", "--all-targets"]))
        })?;
        self.step("cargo test --workspace --doc", |x| run(x.cargo().args(["test", "--workspace", "--doc"])))?;
        self.e2e(&[])
    }

    fn e2e(&mut self, pytest_args: &[String]) -> Result {
        self.build_ui()?;
        self.build_app()?;
        self.step("e2e: pytest tests/e2e under Xvfb (real Tauri window)", |x| {
            let artifacts = x.artifacts();
            fs::create_dir_all(&artifacts)?;
            let python = x.venv().join("bin/python");
            // GTK autolaunches a D-Bus session bus on the virtual display (dbus-x11); it ends
            // with the display. The screen is big enough for every window size the layout
            // test sets (800×1280 upright tablet up to 1280×800).
            let mut c = x.cmd("xvfb-run");
            c.args(["-a", "-s", "-screen 0 1920x1280x24"])
                .arg(&python)
                .args(["-m", "pytest", "tests/e2e", "-ra", "-p", "no:cacheprovider"])
                .args(pytest_args)
                .env("OPENPTW_APP", x.app_binary())
                .env("OPENPTW_ARTIFACTS", &artifacts)
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .stdin(Stdio::null());
            run(&mut c)?;
            println!("screenshots: {}", artifacts.display());
            Ok(())
        })
    }

    fn run(&mut self, app_args: &[String]) -> Result {
        self.setup()?;
        self.build_ui()?;
        self.build_app()?;
        let app = self.app_binary();
        let has_display = ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| env::var_os(v).is_some_and(|d| !d.is_empty()));
        if !has_display {
            return fail(format!(
                "the app is built, but there is no display to open it on (neither DISPLAY nor \
                 WAYLAND_DISPLAY is set).\n\
                 openptw is a desktop app: run `./openptw run` from a graphical session, or \
                 `ssh -X` into this machine, or start the binary yourself:\n  {}\n\
                 (`./openptw test` runs it headless under Xvfb and saves screenshots to {})",
                app.display(),
                self.artifacts().display()
            ));
        }
        let mut server =
            self.step("demo: sync server with the demo plant (https://127.0.0.1:8787)", |x| x.demo_server())?;
        let qr = self.demo_admin(&["device", "enrol", "--name", "演示平板", "--url", DEMO_URL])?;
        let qr = qr
            .lines()
            .find_map(|l| l.strip_prefix("QR text: "))
            .map(str::trim)
            .ok_or_else(|| Error("`device enrol` printed no QR text".into()))?
            .to_owned();
        println!("\n==> starting {} (close the window to stop; the sync server stops with it)", app.display());
        let mut c = self.cmd(&app);
        c.args(app_args).env("OPENPTW_DATA_DIR", self.cache.join("demo-app")).env("OPENPTW_ENROL", qr);
        let result = run(&mut c);
        let _ = server.kill();
        let _ = server.wait();
        result
    }

    fn demo_server_dir(&self) -> PathBuf {
        self.cache.join("demo-server")
    }

    /// The sync server's admin CLI on the demo plant's data directory; its stdout.
    fn demo_admin(&self, args: &[&str]) -> Result<String> {
        let mut c = self.cmd(self.target.join("debug/ptw-sync-server"));
        c.arg("--data-dir").arg(self.demo_server_dir()).args(args).env("RUST_LOG", "warn");
        output(&mut c)
    }

    /// The demo plant's sync server, serving: its TLS certificate made and the plant seeded on
    /// first use, and brought up to this version's demo data on every later one (both kept in
    /// ~/.cache/openptw/demo-server, with the app's data in demo-app).
    fn demo_server(&mut self) -> Result<std::process::Child> {
        let dir = self.demo_server_dir();
        if !dir.join("tls-cert.pem").is_file() {
            print!("{}", self.demo_admin(&["tls", "init"])?);
        }
        print!("{}", self.demo_admin(&["demo", "seed"])?);
        let mut c = self.cmd(self.target.join("debug/ptw-sync-server"));
        c.arg("--data-dir")
            .arg(&dir)
            .args(["serve", "--bind", DEMO_BIND])
            .stdout(Stdio::piped())
            .env("RUST_LOG", "warn");
        println!("$ {}", show(&c));
        let mut child = c.spawn().map_err(|e| Error(format!("cannot start the sync server: {e}")))?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            use std::io::BufRead;
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        }
        if !line.starts_with("listening on ") {
            let _ = child.kill();
            let _ = child.wait();
            return fail(format!(
                "the demo sync server did not start on {DEMO_BIND} (is something else listening there? a \
                 `./openptw run` still open?)"
            ));
        }
        print!("{line}");
        Ok(child)
    }

    fn bench(&mut self, args: &[String]) -> Result {
        // --bench '*': only the [[bench]] (criterion) targets; `--benches` would also run the
        // libraries' unit-test harness, which refuses criterion options such as `--quick`.
        self.step("cargo bench -p ptw-core -p ptw-store --bench '*' (release)", |x| {
            run(x.cargo().args(["bench", "-p", "ptw-core", "-p", "ptw-store", "--bench", "*"]).args(args))
        })
    }
}

// --------------------------------------------------------------------------------------------
// helpers

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 60.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{s:.1}s")
    }
}

fn show(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().into_owned();
    for a in c.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains([' ', '"', '\'']) {
            s.push_str(&format!(" '{a}'"));
        } else {
            s.push(' ');
            s.push_str(&a);
        }
    }
    s
}

/// Runs a command with inherited stdio; an error unless it exits 0.
fn run(c: &mut Command) -> Result {
    println!("$ {}", show(c));
    let status = c.status().map_err(|e| Error(format!("cannot start `{}`: {e}", show(c))))?;
    if status.success() {
        Ok(())
    } else {
        fail(format!("`{}` exited with {status}", show(c)))
    }
}

/// Runs a command and answers its stdout; an error unless it exits 0.
fn output(c: &mut Command) -> Result<String> {
    let out = c.stderr(Stdio::inherit()).output().map_err(|e| Error(format!("cannot start `{}`: {e}", show(c))))?;
    if !out.status.success() {
        return fail(format!("`{}` exited with {}", show(c), out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn which(program: &str, path: &OsStr) -> Option<PathBuf> {
    env::split_paths(path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A python3 that can create venvs (with pip): the one on PATH, else Debian's.
fn find_python_with_venv() -> Option<PathBuf> {
    ["python3", "/usr/bin/python3"].into_iter().find_map(|p| {
        Command::new(p)
            .args(["-c", "import venv, ensurepip"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
            .then(|| PathBuf::from(p))
    })
}

fn missing_debian_packages(wanted: &[&str]) -> Result<Vec<String>> {
    // Unknown packages make dpkg-query exit 1 but still print the known ones.
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Package} ${db:Status-Abbrev}\n"])
        .args(wanted)
        .stderr(Stdio::null())
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let installed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, status)| status.starts_with("ii"))
        .map(|(name, _)| name)
        .collect();
    Ok(wanted.iter().filter(|w| !installed.contains(w)).map(|w| (*w).to_owned()).collect())
}

/// The version of `krate` that `cargo install --root root` recorded, if any.
fn installed_version(root: &Path, krate: &str) -> Option<String> {
    // .crates.toml: `"trunk 0.21.14 (registry+https://...)" = ["trunk"]`
    let text = fs::read_to_string(root.join(".crates.toml")).ok()?;
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix('"')?;
        let mut words = rest.split(' ');
        (words.next()? == krate).then(|| words.next().map(str::to_owned))?
    })
}
