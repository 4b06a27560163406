//! The `grizzly` server binary.

use std::path::PathBuf;

use clap::Parser;
use grizzly::backup::{fetch, Location, StoreConfig};
use grizzly::config::Config;
use grizzly::server::Server;

/// The server's allocator: mimalloc, told to return freed memory to the system at once
/// (docs/decisions/2026-11-24-allocator.md).
mod allocator {
    #[global_allocator]
    static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

    // Option numbers of the mimalloc v3 sources that libmimalloc-sys 0.1.49 builds
    // (c_src/mimalloc/v3/include/mimalloc.h, `mi_option_e`); the crate is pinned in
    // Cargo.toml so these cannot drift.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

    pub fn configure() {
        // SAFETY: setting options is allowed at any time; these only change when freed
        // memory is given back to the system (at once) and how arenas are committed
        // (on demand), which keeps peak RSS close to what is in use.
        unsafe {
            libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
            libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        }
    }
}

/// Grizzly: an analytical database that speaks the PostgreSQL wire protocol.
///
/// Connect with any PostgreSQL client, e.g. `psql -h 127.0.0.1 -p 5433 -U grizzly -d grizzly`.
/// By default connections from loopback are trusted; see --auth, --hba and --tls-cert.
#[derive(Parser, Debug)]
#[command(name = "grizzly", version)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Directory holding the data (created if missing).
    #[arg(long, default_value = "./grizzly-data")]
    data_dir: PathBuf,
    /// Address to listen on for PostgreSQL clients.
    #[arg(long, default_value = "127.0.0.1:5433")]
    listen: String,
    /// How long history stays readable (time travel, point-in-time restore) for tables
    /// without their own `WITH (retention = ...)`, as an interval: `7 days`, `12 hours`.
    #[arg(long, default_value = "7 days")]
    retention: String,
    /// Log filter, e.g. `info`, `debug`, `grizzly=debug` (RUST_LOG also works).
    #[arg(long, default_value = "info")]
    log: String,
    /// Compaction merges blocks smaller than half this many MiB into blocks of about it.
    #[arg(long, default_value_t = 128)]
    compact_target_mb: u64,
    /// The background task compacts a table once it has this many small blocks (0: never;
    /// `SELECT grizzly_compact('t')` still works).
    #[arg(long, default_value_t = 8)]
    compact_min_blocks: usize,
    /// S3 endpoint URL for backups to stores other than AWS (R2, MinIO); `http://`
    /// allows plain HTTP. Credentials come from AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY.
    #[arg(long)]
    s3_endpoint: Option<String>,
    /// How clients prove who they are when no --hba file is given: `trust` (the
    /// default: loopback connections are trusted, others need a SCRAM password),
    /// `scram` (every connection, loopback included, needs a SCRAM-SHA-256 password),
    /// `md5` or `password` (cleartext; only over TLS).
    #[arg(long, default_value = "trust", value_parser = parse_method)]
    auth: grizzly::auth::Method,
    /// Authentication rules in pg_hba.conf's format (TYPE DATABASE USER ADDRESS METHOD),
    /// instead of --auth.
    #[arg(long)]
    hba: Option<PathBuf>,
    /// The bootstrap superuser, created at start if missing; its password comes from
    /// the environment variable GRIZZLY_PASSWORD.
    #[arg(long, default_value = "grizzly")]
    superuser: String,
    /// PEM file with the server's TLS certificate chain (with --tls-key: TLS is offered).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM file with the TLS certificate's private key.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Refuse connections that do not use TLS.
    #[arg(long)]
    require_tls: bool,
    /// Connections beyond this many are refused (SQLSTATE 53300).
    #[arg(long, default_value_t = 100)]
    max_connections: usize,
    /// Close a connection that runs no statement for this many seconds (0: never); a
    /// session's `idle_session_timeout` overrides it.
    #[arg(long, default_value_t = 0)]
    idle_timeout: u64,
}

fn parse_method(text: &str) -> Result<grizzly::auth::Method, String> {
    grizzly::auth::Method::parse(text)
        .filter(|m| *m != grizzly::auth::Method::Reject)
        .ok_or_else(|| format!("unknown method \"{text}\"; use trust, scram, md5 or password"))
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Restore into a new data directory, from a backup (FROM is `s3://bucket/prefix`
    /// or `file:///path`) or from another data directory (point-in-time recovery: FROM
    /// is only read). The result holds exactly FROM's state at TO_TIME.
    Restore {
        /// The new data directory (must not exist or be empty).
        #[arg(long)]
        data_dir: PathBuf,
        /// A backup location, or a data directory.
        #[arg(long)]
        from: String,
        /// Which backup (an id from grizzly_backups); by default the latest, or the one
        /// that reaches TO_TIME.
        #[arg(long)]
        backup: Option<String>,
        /// The moment to restore, as a timestamptz literal
        /// (`2026-11-24 10:00:00.123456+00`) or RFC 3339 (`2026-11-24T10:00:00Z`);
        /// required for a data directory, for a backup by default its own time.
        #[arg(long)]
        to_time: Option<String>,
        /// S3 endpoint URL (as for the server).
        #[arg(long)]
        s3_endpoint: Option<String>,
    },
}

fn main() -> std::process::ExitCode {
    allocator::configure();
    let args = Args::parse();
    if let Some(Command::Restore {
        data_dir,
        from,
        backup,
        to_time,
        s3_endpoint,
    }) = &args.command
    {
        let store = StoreConfig {
            s3_endpoint: s3_endpoint.clone(),
        };
        return match from.contains("://") {
            true => restore_backup(data_dir, from, backup.clone(), to_time.as_deref(), &store),
            false => match (to_time, backup) {
                (Some(to_time), None) => restore(data_dir, std::path::Path::new(from), to_time),
                _ => {
                    eprintln!(
                        "grizzly restore: restoring from a data directory takes --to-time \
                         (and no --backup)"
                    );
                    std::process::ExitCode::FAILURE
                }
            },
        };
    }
    let filter = std::env::var("RUST_LOG").unwrap_or(args.log.clone());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("grizzly: cannot start the runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("grizzly: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn restore(
    data_dir: &std::path::Path,
    from: &std::path::Path,
    to_time: &str,
) -> std::process::ExitCode {
    let result = grizzly::restore::parse_time(to_time)
        .and_then(|ts| grizzly::restore::restore(from, data_dir, ts));
    match result {
        Ok(restored) => {
            println!(
                "restored {} as of {} into {}: {} table(s), manifest version {}, {} block(s) copied, {} row(s) recovered from later flushes and the WAL",
                from.display(),
                to_time,
                data_dir.display(),
                restored.tables,
                restored.manifest_version,
                restored.blocks_copied,
                restored.rows_recovered
            );
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("grizzly restore: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn restore_backup(
    data_dir: &std::path::Path,
    from: &str,
    backup: Option<String>,
    to_time: Option<&str>,
    store: &StoreConfig,
) -> std::process::ExitCode {
    let run = async {
        let to_time = to_time.map(grizzly::restore::parse_time).transpose()?;
        let location = Location::open(from, store)?;
        let choice = fetch::Choice { backup, to_time };
        fetch::restore(&location, &choice, data_dir).await
    };
    let result = tokio::runtime::Runtime::new()
        .map_err(grizzly::error::Error::from)
        .and_then(|runtime| runtime.block_on(run));
    match result {
        Ok(done) => {
            println!(
                "restored backup {} of {from} as of {} into {}: {} bytes downloaded and \
                 verified, {} table(s), {} block(s), {} row(s) recovered from the WAL",
                done.backup,
                grizzly::storage::history::format_ts(done.ts),
                data_dir.display(),
                done.bytes_downloaded,
                done.restored.tables,
                done.restored.blocks_copied,
                done.restored.rows_recovered
            );
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("grizzly restore: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> grizzly::error::Result<()> {
    let mut config = Config::new(&args.data_dir);
    config.store.s3_endpoint = args.s3_endpoint.clone();
    config.access.method = args.auth;
    config.access.hba_file = args.hba.clone();
    config.access.superuser = args.superuser.clone();
    config.access.password = std::env::var("GRIZZLY_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    config.access.tls = args.tls_cert.clone().zip(args.tls_key.clone());
    config.access.require_tls = args.require_tls;
    config.access.max_connections = args.max_connections;
    config.access.idle_timeout =
        (args.idle_timeout > 0).then(|| std::time::Duration::from_secs(args.idle_timeout));
    let retention = grizzly::sql::ddl::parse_retention(&args.retention)?;
    config.retention = std::time::Duration::from_micros(retention as u64);
    config.compact_target_bytes = args.compact_target_mb << 20;
    config.compact_min_blocks = args.compact_min_blocks;
    let server = Server::bind(config, &args.listen).await?;
    // Tests and scripts read this line to learn the port when listening on :0.
    println!(
        "grizzly listening on {} (data directory {})",
        server.local_addr()?,
        args.data_dir.display()
    );
    server.run(shutdown_signal()).await
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
