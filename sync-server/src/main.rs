//! `ptw-sync-server`: the sync hub and its admin CLI — `serve`; `device enrol | list | revoke`,
//! `user add | list | pin | freeze | unfreeze | retire`, `cert add | list | revoke | expiring`,
//! `import people | certificates | cross-check`, `report certificates` and `demo seed`
//! (registry changes the server signs); `tls init`; `epoch show | rotate`. Settings come from the command line, then
//! `PTW_SYNC_*` environment variables, then the configuration file.

mod people_cli;

use std::io::{IsTerminal, Write};
use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use ptw_core::authority::RegistryOp;
use ptw_core::sync::EnrolQr;
use ptw_core::{DeviceId, PersonId, Role};
use ptw_sync_server::alerting::{AlertBook, Alerting};
use ptw_sync_server::registry::ServerRegistry;
use ptw_sync_server::secret::{load_or_create_key, new_enrol_code, normalise_code, sha256_hex, ENROL_CODE_LIFETIME_MS};
use ptw_sync_server::storage::postgres::PostgresStorage;
use ptw_sync_server::storage::sqlite::SqliteStorage;
use ptw_sync_server::storage::{NewEnrolCode, Storage};
use ptw_sync_server::tls::TlsFiles;
use ptw_sync_server::{now_ms, AppState, Config, DEFAULT_BIND};

/// How long a device restored from a backup may push back other devices' changes after `epoch
/// rotate` (see `Storage::recovery_until_ms`).
const RECOVERY_WINDOW_MS: i64 = 72 * 60 * 60 * 1000;

#[derive(Debug, Parser)]
#[command(name = "ptw-sync-server", version, about = "openptw sync server and admin CLI")]
struct Cli {
    /// Where the server keeps its database (SQLite), its key and its TLS certificate.
    #[arg(long, global = true, env = "PTW_SYNC_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Use this PostgreSQL database instead of SQLite in the data directory (postgres://user@host/db).
    #[arg(long, global = true, env = "PTW_SYNC_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    database_url: Option<String>,
    /// The server's registry key file [default: <data dir>/server-key].
    #[arg(long, global = true, env = "PTW_SYNC_KEY_FILE", value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Configuration file (TOML).
    #[arg(long, global = true, env = "PTW_SYNC_CONFIG", value_name = "TOML")]
    config: Option<PathBuf>,
    /// Testing only: read the server's clock from this file (Unix milliseconds) instead of the
    /// system's.
    #[arg(long, global = true, hide = true, value_name = "FILE")]
    fake_clock_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the sync API.
    Serve {
        /// Listen address; overrides the configuration file [default: 127.0.0.1:8787].
        #[arg(long, env = "PTW_SYNC_BIND", value_name = "ADDR")]
        bind: Option<SocketAddr>,
    },
    /// Enrol, list and revoke devices.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Add, list, freeze people; set PINs.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Register, list and revoke certificates; list those expiring.
    Cert {
        #[command(subcommand)]
        command: people_cli::CertCommand,
    },
    /// Import people or certificates from CSV or XLSX; cross-check a regulator's export.
    Import {
        #[command(subcommand)]
        command: people_cli::ImportCommand,
    },
    /// Reports for inspectors.
    Report {
        #[command(subcommand)]
        command: people_cli::ReportCommand,
    },
    /// The plant's settings: its time zone and calendar.
    Plant {
        #[command(subcommand)]
        command: PlantCommand,
    },
    /// The demo plant.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// The server's TLS certificate.
    Tls {
        #[command(subcommand)]
        command: TlsCommand,
    },
    /// The alerts the server raised and the notifications it sent.
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// The database's epoch, which tells devices whether they talk to the same database.
    Epoch {
        #[command(subcommand)]
        command: EpochCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AlertsCommand {
    /// Every notification, newest first, as JSON lines: its alert state, channel, status
    /// (waiting, sending, sent, failed, uncertain), tries and last error.
    Outbox,
    /// The alerts open as of the last scan, as JSON lines: permit (empty for the register's
    /// own), key, kind, severity, escalation level, raised, acknowledged.
    Open,
    /// The alert response rate (handled within the catalog's response minutes / raised) per
    /// area, of alerts raised from FROM until TO (RFC 3339), as JSON.
    Response {
        #[arg(long)]
        from: chrono::DateTime<chrono::Utc>,
        #[arg(long)]
        to: chrono::DateTime<chrono::Utc>,
    },
}

#[derive(Debug, Subcommand)]
enum EpochCommand {
    /// Print the current epoch.
    Show,
    /// Make a new epoch. Run it (server stopped) after restoring the database from a backup:
    /// each device then sends everything it holds again and pulls anew, so the changes the
    /// backup lacks come back from the tablets (for 72 hours, devices may also send back
    /// other devices' changes).
    Rotate,
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// Print a one-time enrolment code (valid 24 hours) and its QR for a new device.
    Enrol {
        /// The device's name as IT knows it, e.g. T-07.
        #[arg(long)]
        name: String,
        /// The server address the device should use, put in the QR [default: https://<bind>
        /// with TLS, http://<bind> without].
        #[arg(long)]
        url: Option<String>,
        /// Enrol this device again (a reinstalled tablet): using the code revokes it and enrols
        /// the new key under a new id.
        #[arg(long, value_name = "DEVICE ID")]
        replaces: Option<DeviceId>,
        /// Also write the QR as a PNG image to FILE (to print a label for the device).
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
    },
    /// List enrolled devices.
    List,
    /// Revoke a device: it can no longer push or pull, and its signatures from now on count for
    /// nothing.
    Revoke {
        #[arg(long)]
        id: DeviceId,
        #[arg(long, default_value = "revoked by IT")]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a person (or change their name, title or roles).
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        title: String,
        /// Role codes from the catalog, comma-separated, e.g. guardian,gas_tester.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// Their PIN (at least the digits the plant's settings ask, 6 outside the demo).
        #[arg(long)]
        pin: Option<String>,
        /// An existing person's id, to change them (what is not given stays as it is).
        #[arg(long)]
        id: Option<PersonId>,
        /// A contractor's company (承包商单位); leave out for the plant's own employees.
        #[arg(long)]
        company: Option<String>,
        #[arg(long)]
        department: Option<String>,
        /// Badge id (工号), unique in the register: the badge QR carries it.
        #[arg(long)]
        badge: Option<String>,
        /// Mobile number, for SMS alerts.
        #[arg(long)]
        phone: Option<String>,
    },
    /// List the register: id, name, trade, roles, department, company, badge, and whether frozen
    /// or retired.
    List,
    /// Retire a person (left the plant, contract ended): from now on they are named on no permit
    /// and sign nothing; their records stay.
    Retire {
        #[arg(long)]
        id: PersonId,
        #[arg(long)]
        reason: String,
    },
    /// Set a person's PIN.
    Pin {
        #[arg(long)]
        id: PersonId,
        #[arg(long)]
        pin: String,
    },
    /// Freeze an account (R-FREEZE): from now on nothing it signs counts.
    Freeze {
        #[arg(long)]
        id: PersonId,
        #[arg(long)]
        reason: String,
    },
    /// Lift a freeze.
    Unfreeze {
        #[arg(long)]
        id: PersonId,
        #[arg(long)]
        reason: String,
    },
    /// Print a person's badge QR text (`openptw-badge:<badge id>`), and write it as a PNG to
    /// print on the badge: a tablet signs them in by scanning it, then their PIN.
    Badge {
        #[arg(long)]
        id: PersonId,
        #[arg(long)]
        png: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum PlantCommand {
    /// Print the plant's settings (time zone, calendar, PIN and sign-out rules) as JSON.
    Show,
    /// Change the plant's time zone and calendar; what is not given stays as it is. Hot work
    /// planned on a holiday, a rest day or at night is one grade higher (GB 30871).
    Calendar {
        /// IANA time zone, e.g. Asia/Shanghai.
        #[arg(long)]
        time_zone: Option<String>,
        /// Weekly rest days, 1 = Monday … 7 = Sunday, comma-separated ("" for none).
        #[arg(long, value_name = "DAYS")]
        rest_weekdays: Option<String>,
        /// Public holidays, YYYY-MM-DD, comma-separated ("" for none); replaces the list.
        #[arg(long, value_name = "DATES")]
        holidays: Option<String>,
        /// Rest days worked instead (调休), YYYY-MM-DD, comma-separated; replaces the list.
        #[arg(long, value_name = "DATES")]
        working_days: Option<String>,
        /// Night hours, HH:MM-HH:MM (e.g. 22:00-06:00), or "none".
        #[arg(long, value_name = "FROM-TO")]
        night: Option<String>,
    },
    /// Print the plant's catalog — operation types, grades, fields, flows, who may do what,
    /// limits, each with its source — as JSON, for the safety manager to review.
    Catalog,
    /// Replace the plant's catalog with the one in FILE (JSON, as `plant catalog` prints it),
    /// after checking it: a step naming an unknown role, a limit out of range, a flow with no
    /// approval step… are refused, naming the entry, and nothing changes.
    SetCatalog {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print a work location's poster QR text (`openptw-location:<code>`), and write it as a PNG
    /// to post at the location: people check in on site by scanning it with their badge.
    Poster {
        /// The location's code, e.g. T-101.
        #[arg(long)]
        code: String,
        #[arg(long)]
        png: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum DemoCommand {
    /// Seed the demo plant (people, PINs, locations, the GB 30871 catalog) into an empty
    /// registry; bring a demo plant from an earlier version up to date (its catalog, the demo
    /// people it lacks, its locations); never touch a plant that is not the demo.
    Seed,
}

#[derive(Debug, Subcommand)]
enum TlsCommand {
    /// Make a self-signed certificate in the data directory for these host names and
    /// addresses (localhost is always included); prints its fingerprint.
    Init {
        #[arg(long = "host", value_name = "NAME OR IP")]
        hosts: Vec<String>,
    },
    /// Print the fingerprint tablets pin.
    Fingerprint,
}

struct Ctx {
    config: Config,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    key_file: Option<PathBuf>,
}

impl Ctx {
    fn storage(&self) -> anyhow::Result<Arc<dyn Storage>> {
        if let Some(url) = &self.database_url {
            // The URL may hold a password: it is not repeated in the message.
            return Ok(Arc::new(
                PostgresStorage::connect(url).context("opening the PostgreSQL database (database_url)")?,
            ));
        }
        let dir = self.data_dir()?;
        Ok(Arc::new(
            SqliteStorage::open_dir(dir).with_context(|| format!("opening the database in {}", dir.display()))?,
        ))
    }

    fn data_dir(&self) -> anyhow::Result<&PathBuf> {
        self.data_dir
            .as_ref()
            .context("no data directory: pass --data-dir DIR, or set PTW_SYNC_DATA_DIR, or data_dir in the config file")
    }

    fn key(&self) -> anyhow::Result<ed25519_zebra::SigningKey> {
        let path = match (&self.key_file, &self.data_dir) {
            (Some(f), _) => f.clone(),
            (None, Some(d)) => d.join("server-key"),
            (None, None) => bail!(
                "no server key: pass --key-file FILE (or server_key_file in the config file) — with PostgreSQL \
                 the key is not kept in the database"
            ),
        };
        load_or_create_key(&path).with_context(|| format!("the server key {}", path.display()))
    }

    fn registry(&self, storage: &dyn Storage) -> anyhow::Result<ServerRegistry> {
        Ok(ServerRegistry::open(storage, self.key()?, now_ms())?)
    }

    fn tls(&self) -> anyhow::Result<Option<TlsFiles>> {
        TlsFiles::find(self.config.tls_cert.as_deref(), self.config.tls_key.as_deref(), self.data_dir.as_deref())
    }

    fn bind(&self, bind: Option<SocketAddr>) -> anyhow::Result<SocketAddr> {
        Ok(match bind.or(self.config.bind) {
            Some(addr) => addr,
            None => DEFAULT_BIND.parse()?,
        })
    }
}

fn main() -> anyhow::Result<()> {
    // Logs go to stderr; stdout carries only what a person or a script reads (the address, codes).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let cli = Cli::parse();
    if let Some(path) = cli.fake_clock_file.clone() {
        ptw_sync_server::use_clock_file(path);
    }
    let config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let ctx = Ctx {
        data_dir: cli.data_dir.clone().or(config.data_dir.clone()),
        database_url: cli.database_url.clone().or(config.database_url.clone()),
        key_file: cli.key_file.clone().or(config.server_key_file.clone()),
        config,
    };

    match cli.command {
        Command::Serve { bind } => serve(&ctx, bind),
        Command::Device { command } => device(&ctx, command),
        Command::User { command } => user(&ctx, command),
        Command::Plant { command } => plant(&ctx, command),
        Command::Cert { command } => {
            let store = ctx.storage()?;
            people_cli::cert(store.as_ref(), &ctx.registry(store.as_ref())?, command)
        }
        Command::Import { command } => {
            let store = ctx.storage()?;
            people_cli::import(store.as_ref(), &ctx.registry(store.as_ref())?, command)
        }
        Command::Report { command } => {
            let store = ctx.storage()?;
            people_cli::report_command(&ctx.registry(store.as_ref())?, command)
        }
        Command::Demo { command: DemoCommand::Seed } => demo_seed(&ctx),
        Command::Tls { command: TlsCommand::Init { hosts } } => {
            let files = ptw_sync_server::tls::init(ctx.data_dir()?, &hosts)?;
            println!("certificate: {}", files.cert.display());
            println!("fingerprint: {}", files.fingerprint()?);
            Ok(())
        }
        Command::Tls { command: TlsCommand::Fingerprint } => {
            let files = ctx.tls()?.context("no TLS certificate: run `ptw-sync-server tls init` first")?;
            println!("{}", files.fingerprint()?);
            Ok(())
        }
        Command::Alerts { command } => alerts(&ctx, command),
        Command::Epoch { command: EpochCommand::Show } => {
            println!("{}", ctx.storage()?.epoch()?);
            Ok(())
        }
        Command::Epoch { command: EpochCommand::Rotate } => {
            let store = ctx.storage()?;
            let old = store.epoch()?;
            let new = store.rotate_epoch()?;
            store.set_recovery_until_ms(now_ms().saturating_add(RECOVERY_WINDOW_MS))?;
            println!("new epoch {new} (was {old}); restart the server: devices will resend what they hold");
            Ok(())
        }
    }
}

fn alerts(ctx: &Ctx, command: AlertsCommand) -> anyhow::Result<()> {
    let book = AlertBook::open(&ctx.data_dir.clone().unwrap_or_else(|| PathBuf::from(".")))?;
    let mut out = std::io::stdout().lock();
    match command {
        AlertsCommand::Outbox => {
            for n in book.outbox()? {
                let line = serde_json::json!({
                    "permit": n.permit, "state": n.state_key, "channel": n.channel, "status": n.status,
                    "tries": n.tries, "sent_ms": n.sent_ms, "last_error": n.last_error, "title": n.title,
                });
                writeln!(out, "{line}")?;
            }
        }
        AlertsCommand::Open => {
            for a in book.open_alerts()? {
                writeln!(out, "{}", serde_json::to_string(&a)?)?;
            }
        }
        AlertsCommand::Response { from, to } => {
            let store = ctx.storage()?;
            let minutes = ctx.registry(store.as_ref())?.current().catalog.alerting.response_minutes;
            let rows = book.response(from.timestamp_millis(), to.timestamp_millis(), minutes)?;
            writeln!(out, "{}", serde_json::to_string(&rows)?)?;
        }
    }
    Ok(())
}

fn serve(ctx: &Ctx, bind: Option<SocketAddr>) -> anyhow::Result<()> {
    let bind = ctx.bind(bind)?;
    let tls = ctx.tls()?;
    if tls.is_none() && !bind.ip().is_loopback() {
        bail!(
            "{bind} is not a loopback address and there is no TLS certificate: tablets refuse plain HTTP on the \
             network. Run `ptw-sync-server tls init --host <this server's name or IP>` first, or give tls_cert and \
             tls_key in the config file"
        );
    }
    let acceptor = tls.as_ref().map(TlsFiles::acceptor).transpose()?;
    let state = AppState::new(ctx.storage()?, ctx.key()?)?;
    // Alerts are raised here while the devices are offline, and pushed to the plant's channels
    // (the alerting keeps its own database in the data directory, or the working directory with
    // PostgreSQL and none given).
    let alert_dir = ctx.data_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&alert_dir).with_context(|| format!("creating {}", alert_dir.display()))?;
    let book = Arc::new(AlertBook::open(&alert_dir)?);
    Alerting::new(book, state.storage.clone(), state.registry.clone(), ctx.config.alerts.clone(), now_ms)?.start();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
        let mut out = std::io::stdout();
        writeln!(out, "listening on {}", listener.local_addr()?)?;
        out.flush()?;
        ptw_sync_server::serve::serve(listener, state, acceptor).await
    })
}

fn device(ctx: &Ctx, command: DeviceCommand) -> anyhow::Result<()> {
    match command {
        DeviceCommand::Enrol { name, url, replaces, png } => {
            let store = ctx.storage()?;
            let registry = ctx.registry(store.as_ref())?;
            if let Some(old) = replaces {
                anyhow::ensure!(
                    registry.current().device(old).is_some(),
                    "no device {old} is enrolled; see `ptw-sync-server device list`"
                );
            }
            let tls = ctx.tls()?;
            let url = match url {
                Some(url) => url,
                None => format!("{}://{}", if tls.is_some() { "https" } else { "http" }, ctx.bind(None)?),
            };
            let code = new_enrol_code();
            let qr_text = EnrolQr {
                url: url.clone(),
                code: code.clone(),
                server_key: Some(registry.public_key()),
                tls_fingerprint: tls.as_ref().map(TlsFiles::fingerprint).transpose()?,
            }
            .text();
            let qr = qrcode::QrCode::new(qr_text.as_bytes()).context("making the QR code")?;
            // The image first: a file that cannot be written stops the command before a code exists.
            if let Some(path) = &png {
                write_qr_png(&qr, path, "no enrolment code was made")?;
            }
            let stored = store.add_enrol_code(&NewEnrolCode {
                code_hash: sha256_hex(&normalise_code(&code)),
                name: name.clone(),
                expires_ms: now_ms().saturating_add(ENROL_CODE_LIFETIME_MS),
                replaces,
            });
            if let Err(e) = stored {
                // No label for a code the server does not know.
                if let Some(path) = &png {
                    let _ = std::fs::remove_file(path);
                }
                return Err(e.into());
            }
            let picture = qr
                .render::<qrcode::render::unicode::Dense1x2>()
                .dark_color(qrcode::render::unicode::Dense1x2::Light)
                .light_color(qrcode::render::unicode::Dense1x2::Dark)
                .build();
            println!("{picture}");
            println!("Enrolment code for {name}: {code}");
            println!("Server: {url}");
            println!("QR text: {qr_text}");
            if let Some(path) = &png {
                println!("QR image: {}", path.display());
            }
            println!("Scan the QR in the openptw app. It works once, for 24 hours.");
            Ok(())
        }
        DeviceCommand::List => {
            let store = ctx.storage()?;
            let registry = ctx.registry(store.as_ref())?.current();
            if registry.devices.is_empty() {
                println!("no devices enrolled");
            }
            for d in &registry.devices {
                let state = if d.is_revoked() { "revoked" } else { "active" };
                println!("{}\t{}\t{}\tenrolled_ms={}", d.id, d.name, state, d.enrolled_ms);
            }
            Ok(())
        }
        DeviceCommand::Revoke { id, reason } => {
            let store = ctx.storage()?;
            let registry = ctx.registry(store.as_ref())?;
            anyhow::ensure!(
                registry.current().device(id).is_some(),
                "no device {id} is enrolled; see `ptw-sync-server device list`"
            );
            registry.append(store.as_ref(), vec![RegistryOp::RevokeDevice { device: id, reason }], now_ms())?;
            println!("device {id} revoked; it can no longer sync, and nothing it signs from now on counts");
            Ok(())
        }
    }
}

fn plant(ctx: &Ctx, command: PlantCommand) -> anyhow::Result<()> {
    let store = ctx.storage()?;
    let registry = ctx.registry(store.as_ref())?;
    let mut settings = registry.current().settings.clone();
    match command {
        PlantCommand::Poster { code, png } => {
            let r = registry.current();
            let location = r
                .locations
                .iter()
                .find(|l| l.code.trim().eq_ignore_ascii_case(code.trim()))
                .with_context(|| format!("no location with code {code} in the register"))?;
            let text = ptw_core::codes::location_text(&location.code);
            let qr = qrcode::QrCode::new(text.as_bytes()).context("making the QR code")?;
            if let Some(path) = &png {
                write_qr_png(&qr, path, "no poster was written")?;
            }
            println!("QR text: {text}");
            println!("{}", location.name);
            Ok(())
        }
        PlantCommand::Show => {
            println!("{}", serde_json::to_string_pretty(&settings)?);
            Ok(())
        }
        PlantCommand::Catalog => {
            println!("{}", serde_json::to_string_pretty(&registry.current().catalog)?);
            Ok(())
        }
        PlantCommand::SetCatalog { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let catalog =
                ptw_core::Catalog::from_json(&text).with_context(|| format!("{} is not a catalog", file.display()))?;
            let problems = catalog.problems();
            anyhow::ensure!(
                problems.is_empty(),
                "the catalog in {} is not consistent; nothing was changed:\n  {}",
                file.display(),
                problems.join("\n  ")
            );
            let types = catalog.permit_types.len();
            registry.append(store.as_ref(), vec![RegistryOp::SetCatalog { catalog }], now_ms())?;
            println!("the plant's catalog is now the one in {} ({types} operation types)", file.display());
            Ok(())
        }
        PlantCommand::Calendar { time_zone, rest_weekdays, holidays, working_days, night } => {
            if let Some(zone) = time_zone {
                ptw_core::calendar::zone(&zone).with_context(|| {
                    format!("{zone:?} is not a time zone of the IANA database (e.g. Asia/Shanghai)")
                })?;
                settings.time_zone = zone.trim().to_owned();
            }
            let calendar = &mut settings.calendar;
            if let Some(days) = rest_weekdays {
                calendar.rest_weekdays = list(&days, |d| {
                    d.parse::<u8>()
                        .ok()
                        .filter(|n| (1..=7).contains(n))
                        .context("a weekday is 1 (Monday) to 7 (Sunday)")
                })?;
            }
            if let Some(dates) = holidays {
                calendar.holidays = list(&dates, date)?;
            }
            if let Some(dates) = working_days {
                calendar.working_days = list(&dates, date)?;
            }
            if let Some(night) = night {
                let (start, end) = if night.trim() == "none" {
                    (chrono::NaiveTime::MIN, chrono::NaiveTime::MIN)
                } else {
                    let (from, to) = night.split_once('-').context("night hours are HH:MM-HH:MM, or none")?;
                    (time(from)?, time(to)?)
                };
                calendar.night_start = start;
                calendar.night_end = end;
            }
            registry.append(store.as_ref(), vec![RegistryOp::SetSettings { settings: settings.clone() }], now_ms())?;
            println!("{}", serde_json::to_string_pretty(&settings)?);
            Ok(())
        }
    }
}

/// The items of a comma-separated list, each read by `item`; "" is the empty list.
fn list<T>(text: &str, item: impl Fn(&str) -> anyhow::Result<T>) -> anyhow::Result<Vec<T>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| item(s).with_context(|| format!("{s:?}")))
        .collect()
}

fn date(text: &str) -> anyhow::Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").context("a date is YYYY-MM-DD")
}

fn time(text: &str) -> anyhow::Result<chrono::NaiveTime> {
    chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M").context("a time is HH:MM")
}

fn user(ctx: &Ctx, command: UserCommand) -> anyhow::Result<()> {
    let store = ctx.storage()?;
    let registry = ctx.registry(store.as_ref())?;
    let now = now_ms();
    match command {
        UserCommand::Add { name, title, roles, pin, id, company, department, badge, phone } => {
            let current = registry.current();
            let existing = id.and_then(|id| current.person(id));
            if let (Some(id), None) = (id, existing) {
                bail!("no person with id {id}: leave --id out to add one");
            }
            let id = id.unwrap_or_else(|| PersonId(ptw_sync_server::secret::new_device_id(now)));
            let old = existing.map(|p| p.profile.clone()).unwrap_or_default();
            let profile = ptw_core::registry::Profile {
                company: company.unwrap_or(old.company),
                department: department.unwrap_or(old.department),
                badge: badge.map(|b| b.trim().to_owned()).unwrap_or(old.badge),
                phone: phone.unwrap_or(old.phone),
            };
            let mut ops = vec![RegistryOp::PutPerson {
                id,
                name,
                title,
                roles: roles.iter().map(|r| Role::new(r)).collect(),
                profile,
            }];
            if let Some(pin) = pin {
                ops.push(RegistryOp::SetPin {
                    person: id,
                    pin_hash: ptw_sync_server::admin::hash_pin(&pin, &registry.current())?,
                });
            }
            registry.append(store.as_ref(), ops, now)?;
            println!("{id}");
        }
        UserCommand::List => {
            let r = registry.current();
            for p in &r.people {
                let roles: Vec<&str> = p.roles.iter().map(Role::as_str).collect();
                let frozen = if p.frozen_since_ms.is_some() { "\tfrozen" } else { "" };
                let retired = if p.retired_ms.is_some() { "\tretired" } else { "" };
                let f = &p.profile;
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}{frozen}{retired}",
                    p.id,
                    p.name,
                    p.title,
                    roles.join(","),
                    f.department,
                    f.company,
                    f.badge
                );
            }
        }
        UserCommand::Pin { id, pin } => {
            let pin_hash = ptw_sync_server::admin::hash_pin(&pin, &registry.current())?;
            registry.append(store.as_ref(), vec![RegistryOp::SetPin { person: id, pin_hash }], now)?;
            println!("PIN of {id} set");
        }
        UserCommand::Freeze { id, reason } => {
            registry.append(store.as_ref(), vec![RegistryOp::Freeze { person: id, reason }], now)?;
            println!("{id} frozen: nothing they sign from now on counts");
        }
        UserCommand::Retire { id, reason } => {
            registry.append(store.as_ref(), vec![RegistryOp::RetirePerson { person: id, reason }], now)?;
            println!("{id} retired: named on no permit and signing nothing from now on");
        }
        UserCommand::Unfreeze { id, reason } => {
            registry.append(store.as_ref(), vec![RegistryOp::Unfreeze { person: id, reason }], now)?;
            println!("{id} unfrozen");
        }
        UserCommand::Badge { id, png } => {
            let r = registry.current();
            let person = r.person(id).with_context(|| format!("no person with id {id} (see `user list`)"))?;
            if person.profile.badge.is_empty() {
                bail!("{} has no badge id: give one with `user add --id {id} --badge …`", person.name);
            }
            let text = ptw_core::codes::badge_text(&person.profile.badge);
            let qr = qrcode::QrCode::new(text.as_bytes()).context("making the QR code")?;
            if let Some(path) = &png {
                write_qr_png(&qr, path, "no badge was written")?;
            }
            println!("QR text: {text}");
        }
    }
    Ok(())
}

fn demo_seed(ctx: &Ctx) -> anyhow::Result<()> {
    let store = ctx.storage()?;
    let registry = ctx.registry(store.as_ref())?;
    let current = registry.current();
    let plant = ptw_core::demo::DemoPlant::load()?;
    let mut failure = None;
    let hash = |pin: &str| {
        ptw_sync_server::admin::hash_pin_unchecked(pin).unwrap_or_else(|e| {
            failure = Some(e);
            String::new()
        })
    };
    // A demo plant seeded by an earlier version is brought up to date; a real plant is never
    // touched.
    let (ops, done) = match (current.people.is_empty(), current.settings.demo) {
        (true, _) => (plant.registry_ops(hash)?, "seeded the demo plant"),
        (false, true) => (plant.update_ops(&current, hash)?, "brought the demo plant up to date"),
        (false, false) => {
            println!("the registry holds a plant that is not the demo; nothing seeded");
            return Ok(());
        }
    };
    if let Some(e) = failure {
        return Err(e.into());
    }
    if ops.is_empty() {
        println!("the demo plant is up to date; nothing seeded");
        return Ok(());
    }
    let entries = registry.append(store.as_ref(), ops, now_ms())?;
    println!("{done}: {} registry entries", entries.len());
    Ok(())
}

/// Pixels per side of the PNG at least: a QR that prints sharp on a label.
const QR_PNG_MIN_SIDE: u32 = 512;

/// Writes `qr` as a black-on-white PNG (with its quiet zone) to `path`.
fn write_qr_png(qr: &qrcode::QrCode, path: &std::path::Path, otherwise: &str) -> anyhow::Result<()> {
    let image = qr.render::<image::Luma<u8>>().min_dimensions(QR_PNG_MIN_SIDE, QR_PNG_MIN_SIDE).build();
    let mut bytes = Vec::new();
    image::DynamicImage::ImageLuma8(image)
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .context("encoding the QR code as PNG")?;
    std::fs::write(path, &bytes)
        .with_context(|| format!("cannot write the QR image to {} (--png): {otherwise}", path.display()))
}
