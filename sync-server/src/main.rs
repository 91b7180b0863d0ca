//! `ptw-sync-server`: the sync hub and its admin CLI — `serve`, and `device enrol | list | revoke`
//! for IT. Settings come from the command line, then `PTW_SYNC_*` environment variables, then the
//! configuration file.

use std::io::{IsTerminal, Write};
use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use ptw_sync_server::secret::{new_enrol_code, normalise_code, sha256_hex, ENROL_CODE_LIFETIME_MS};
use ptw_sync_server::storage::postgres::PostgresStorage;
use ptw_sync_server::storage::sqlite::SqliteStorage;
use ptw_sync_server::storage::{NewEnrolCode, Storage};
use ptw_sync_server::{now_ms, AppState, Config, DEFAULT_BIND};

#[derive(Debug, Parser)]
#[command(name = "ptw-sync-server", version, about = "openptw sync server and admin CLI")]
struct Cli {
    /// Where the server keeps its database.
    #[arg(long, global = true, env = "PTW_SYNC_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Use this PostgreSQL database instead of SQLite in the data directory (postgres://user@host/db).
    #[arg(long, global = true, env = "PTW_SYNC_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Configuration file (TOML).
    #[arg(long, global = true, env = "PTW_SYNC_CONFIG", value_name = "TOML")]
    config: Option<PathBuf>,
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
    /// The database's epoch, which tells devices whether they talk to the same database.
    Epoch {
        #[command(subcommand)]
        command: EpochCommand,
    },
}

#[derive(Debug, Subcommand)]
enum EpochCommand {
    /// Print the current epoch.
    Show,
    /// Make a new epoch. Run it (server stopped) after restoring the database from a backup:
    /// each device then sends everything it holds again and pulls anew, so the changes the
    /// backup lacks come back from the tablets.
    Rotate,
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// Print a one-time enrolment code (valid 24 hours) and its QR for a new device.
    Enrol {
        /// The device's name as IT knows it, e.g. T-07.
        #[arg(long)]
        name: String,
        /// The server address the device should use, put in the QR [default: http://<bind>].
        #[arg(long)]
        url: Option<String>,
        /// Also write the QR as a PNG image to FILE (to print a label for the device).
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
    },
    /// List enrolled devices.
    List,
    /// Revoke a device: it can no longer push or pull, and its new signatures are refused.
    Revoke {
        #[arg(long)]
        id: ptw_core::DeviceId,
    },
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
    let config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let data_dir = cli.data_dir.clone().or(config.data_dir.clone());
    let database_url = cli.database_url.clone().or(config.database_url.clone());
    let open = || -> anyhow::Result<Arc<dyn Storage>> {
        if let Some(url) = &database_url {
            // The URL may hold a password: it is not repeated in the message.
            return Ok(Arc::new(
                PostgresStorage::connect(url).context("opening the PostgreSQL database (database_url)")?,
            ));
        }
        let Some(dir) = &data_dir else {
            bail!(
                "no database: pass --data-dir DIR (SQLite) or --database-url postgres://… (PostgreSQL), or set \
                 PTW_SYNC_DATA_DIR / PTW_SYNC_DATABASE_URL, or data_dir / database_url in the config file"
            )
        };
        Ok(Arc::new(
            SqliteStorage::open_dir(dir).with_context(|| format!("opening the database in {}", dir.display()))?,
        ))
    };
    let bind_of = |bind: Option<SocketAddr>| -> anyhow::Result<SocketAddr> {
        Ok(match bind.or(config.bind) {
            Some(addr) => addr,
            None => DEFAULT_BIND.parse()?,
        })
    };

    match cli.command {
        Command::Serve { bind } => {
            let bind = bind_of(bind)?;
            let state = AppState::new(open()?)?;
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
                let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
                let mut out = std::io::stdout();
                writeln!(out, "listening on {}", listener.local_addr()?)?;
                out.flush()?;
                ptw_sync_server::serve(listener, state).await
            })
        }
        Command::Device { command: DeviceCommand::Enrol { name, url, png } } => {
            let url = match url {
                Some(url) => url,
                None => format!("http://{}", bind_of(None)?),
            };
            let store = open()?;
            let code = new_enrol_code();
            let payload = ptw_core::sync::enrol_qr_text(&url, &code);
            let qr = qrcode::QrCode::new(payload.as_bytes()).context("making the QR code")?;
            // The image first: a file that cannot be written stops the command before a code exists.
            if let Some(path) = &png {
                write_qr_png(&qr, path)?;
            }
            let stored = store.add_enrol_code(&NewEnrolCode {
                code_hash: sha256_hex(&normalise_code(&code)),
                name: name.clone(),
                expires_ms: now_ms().saturating_add(ENROL_CODE_LIFETIME_MS),
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
            println!("QR text: {payload}");
            if let Some(path) = &png {
                println!("QR image: {}", path.display());
            }
            println!("Scan the QR in the openptw app, or type the code. It works once, for 24 hours.");
            Ok(())
        }
        Command::Device { command: DeviceCommand::List } => {
            let store = open()?;
            let devices = store.devices()?;
            if devices.is_empty() {
                println!("no devices enrolled");
            }
            for d in devices {
                let state = if d.revoked { "revoked" } else { "active" };
                println!("{}\t{}\t{}\tenrolled_ms={}", d.id, d.name, state, d.enrolled_ms);
            }
            Ok(())
        }
        Command::Device { command: DeviceCommand::Revoke { id } } => {
            let store = open()?;
            if !store.revoke(id)? {
                bail!("no device {id} is enrolled; see `ptw-sync-server device list`");
            }
            println!("device {id} revoked; it can no longer sync");
            Ok(())
        }
        Command::Epoch { command: EpochCommand::Show } => {
            println!("{}", open()?.epoch()?);
            Ok(())
        }
        Command::Epoch { command: EpochCommand::Rotate } => {
            let store = open()?;
            let old = store.epoch()?;
            let new = store.rotate_epoch()?;
            println!("new epoch {new} (was {old}); restart the server: devices will resend what they hold");
            Ok(())
        }
    }
}

/// Pixels per side of the PNG at least: a QR that prints sharp on a label.
const QR_PNG_MIN_SIDE: u32 = 512;

/// Writes `qr` as a black-on-white PNG (with its quiet zone) to `path`.
fn write_qr_png(qr: &qrcode::QrCode, path: &std::path::Path) -> anyhow::Result<()> {
    let image = qr.render::<image::Luma<u8>>().min_dimensions(QR_PNG_MIN_SIDE, QR_PNG_MIN_SIDE).build();
    let mut bytes = Vec::new();
    image::DynamicImage::ImageLuma8(image)
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .context("encoding the QR code as PNG")?;
    std::fs::write(path, &bytes)
        .with_context(|| format!("cannot write the QR image to {} (--png): no enrolment code was made", path.display()))
}
