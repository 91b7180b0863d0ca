//! `ptw-sync-server`: the sync hub and its admin CLI.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Parser, Subcommand};
use ptw_sync_server::{Config, DEFAULT_BIND};

#[derive(Debug, Parser)]
#[command(name = "ptw-sync-server", version, about = "openptw sync server and admin CLI")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the sync API.
    Serve {
        /// Configuration file (TOML).
        #[arg(long, value_name = "TOML")]
        config: Option<PathBuf>,
        /// Listen address; overrides the configuration file [default: 127.0.0.1:8787].
        #[arg(long, value_name = "ADDR")]
        bind: Option<SocketAddr>,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    match Cli::parse().command {
        Command::Serve { config, bind } => {
            let config = match config {
                Some(path) => Config::load(&path)?,
                None => Config::default(),
            };
            let bind = match bind.or(config.bind) {
                Some(addr) => addr,
                None => DEFAULT_BIND.parse()?,
            };
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
                let listener = tokio::net::TcpListener::bind(bind).await?;
                ptw_sync_server::serve(listener).await
            })
        }
    }
}
