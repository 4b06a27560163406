//! The server: accepts TCP connections (TLS when configured, up to `max_connections`)
//! and serves each with its own pgwire handlers,
//! flushes memtables in the background, and shuts down cleanly on request (flushing
//! memtables so the next start has no WAL to replay).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pgwire::tokio::TlsAcceptor;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::{Auth, Roles, Rules};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::storage::Database;
use crate::wire::idle::Activity;
use crate::wire::{Authenticator, ConnectionHandlers, ConnectionManager};

pub struct Server {
    db: Arc<Database>,
    listener: TcpListener,
    authenticator: Arc<Authenticator>,
    tls: Option<TlsAcceptor>,
    max_connections: usize,
    idle_timeout: Option<Duration>,
}

impl Server {
    /// Opens the database (recovering it), sets up who may connect, and binds the
    /// listener. Refuses to listen beyond loopback while no role has a password.
    pub async fn bind(config: Config, listen: &str) -> Result<Server> {
        let access = config.access.clone();
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            Error::io_context(e, format!("cannot create {}", config.data_dir.display()))
        })?;
        let roles = Arc::new(Roles::open(&config.data_dir)?);
        roles.bootstrap(&access.superuser, access.password.as_deref())?;
        let rules = match &access.hba_file {
            Some(path) => Rules::parse(&std::fs::read_to_string(path).map_err(|e| {
                Error::io_context(e, format!("cannot read the rules file {}", path.display()))
            })?)?,
            None => Rules::default_for(access.method),
        };
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| Error::io_context(e, format!("cannot listen on {listen}")))?;
        let address = listener.local_addr()?;
        let needs_passwords = !address.ip().is_loopback() || !rules.trusts_anyone();
        if needs_passwords && !roles.any_password() {
            return Err(Error::InvalidInput(format!(
                "refusing to start: connections to {address} need a password and no role \
                 has one. Set GRIZZLY_PASSWORD to give the superuser \"{}\" a password, or \
                 listen on 127.0.0.1 with --auth trust",
                access.superuser
            )));
        }
        if !address.ip().is_loopback() && !rules.remote_needs_password() {
            tracing::warn!("the authentication rules trust some connections from beyond loopback");
        }
        let (tls, certificate) = match &access.tls {
            Some((cert, key)) => {
                let (acceptor, pem) = tls_acceptor(cert, key)?;
                (Some(acceptor), Some(pem))
            }
            None if access.require_tls => {
                return Err(Error::InvalidInput(
                    "--require-tls needs --tls-cert and --tls-key".into(),
                ))
            }
            None => (None, None),
        };
        let rules = if access.require_tls {
            rules.require_tls()
        } else {
            rules
        };
        let auth = Arc::new(Auth { roles, rules });
        let authenticator = Authenticator::new(auth, certificate.as_deref())
            .map_err(|e| Error::InvalidInput(format!("TLS certificate for SCRAM: {e}")))?;
        Ok(Server {
            db: Database::open(config)?,
            listener,
            authenticator: Arc::new(authenticator),
            tls,
            max_connections: access.max_connections,
            idle_timeout: access.idle_timeout,
        })
    }

    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` resolves, then flushes and stops.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let flusher = tokio::spawn(flush_loop(self.db.clone(), stop_rx.clone()));
        let compactor = tokio::spawn(compaction_loop(self.db.clone(), stop_rx.clone()));
        tokio::pin!(shutdown);
        let cancels = Arc::new(ConnectionManager::new());
        let connections = Arc::new(AtomicUsize::new(0));
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = self.listener.accept() => {
                    let (socket, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(err) => {
                            tracing::warn!("accept failed: {err}");
                            continue;
                        }
                    };
                    let _ = socket.set_nodelay(true);
                    let Some(slot) = ConnectionSlot::take(&connections, self.max_connections) else {
                        tokio::spawn(refuse(socket));
                        continue;
                    };
                    let activity = Activity::new(self.idle_timeout);
                    let handlers = Arc::new(ConnectionHandlers::new(
                        self.db.clone(),
                        cancels.clone(),
                        self.authenticator.clone(),
                        activity.clone(),
                    ));
                    let tls = self.tls.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            ended = pgwire::tokio::process_socket(socket, tls, handlers) => {
                                if let Err(err) = ended {
                                    tracing::debug!("connection from {peer} ended: {err}");
                                }
                            }
                            _ = activity.expired() => {
                                tracing::info!("closing the idle connection from {peer}");
                            }
                        }
                        drop(slot);
                    });
                }
            }
        }
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
        let _ = flusher.await;
        let _ = compactor.await;
        self.db.shutdown().await
    }
}

/// One of the `max_connections` connections; given back when dropped.
struct ConnectionSlot(Arc<AtomicUsize>);

impl ConnectionSlot {
    fn take(open: &Arc<AtomicUsize>, max: usize) -> Option<ConnectionSlot> {
        let taken = open.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        });
        taken.ok().map(|_| ConnectionSlot(open.clone()))
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Turns a connection away when the server has `max_connections` already: the FATAL
/// ErrorResponse PostgreSQL sends (53300), written before reading anything, which libpq
/// and the drivers report whether they sent a start-up packet or a TLS request.
async fn refuse(mut socket: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    let mut fields = Vec::new();
    for (kind, text) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', "53300"),
        (b'M', "sorry, too many clients already"),
    ] {
        fields.push(kind);
        fields.extend_from_slice(text.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut message = vec![b'E'];
    message.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
    message.extend_from_slice(&fields);
    let _ = socket.write_all(&message).await;
    let _ = socket.shutdown().await;
}

/// The TLS acceptor for a certificate chain and key (PEM files), and the chain's PEM
/// text (SCRAM channel binding signs with it).
fn tls_acceptor(cert: &Path, key: &Path) -> Result<(TlsAcceptor, Vec<u8>)> {
    use pgwire::tokio::tokio_rustls::rustls::{self, ServerConfig};
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let unreadable = |path: &Path, e: &dyn std::fmt::Display| {
        Error::InvalidInput(format!("cannot read the TLS file {}: {e}", path.display()))
    };
    let pem = std::fs::read(cert).map_err(|e| unreadable(cert, &e))?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| unreadable(cert, &e))?;
    if chain.is_empty() {
        return Err(unreadable(cert, &"no certificate in it"));
    }
    let private_key = PrivateKeyDer::from_pem_file(key).map_err(|e| unreadable(key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| {
            builder
                .with_no_client_auth()
                .with_single_cert(chain, private_key)
        })
        .map_err(|e| Error::InvalidInput(format!("TLS certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok((TlsAcceptor::from(Arc::new(config)), pem))
}

/// How often history past retention is deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// How often the compression tuner's counts are saved (a crash loses at most these).
const SAVE_TUNER_EVERY: Duration = Duration::from_secs(10);
/// How often tables are checked for small blocks to compact.
const COMPACT_CHECK_EVERY: Duration = Duration::from_secs(10);

/// Compacts tables that have gathered enough small blocks, one at a time, checking every
/// few seconds (`Config::compact_min_blocks`; 0 turns it off).
async fn compaction_loop(db: Arc<Database>, mut stop: watch::Receiver<bool>) {
    if db.config().compact_min_blocks == 0 {
        return;
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(COMPACT_CHECK_EVERY) => {}
            _ = stop.changed() => return,
        }
        let names = db.table_names();
        let ids: Vec<u64> = names
            .iter()
            .filter_map(|name| db.table(name))
            .map(|def| def.id)
            .collect();
        for table_id in ids {
            if !db.needs_compaction(table_id) {
                continue;
            }
            let db = db.clone();
            match tokio::task::spawn_blocking(move || {
                db.compact(table_id, &|message| tracing::debug!("{message}"))
            })
            .await
            {
                Ok(Ok(_)) => {}
                Ok(Err(err)) => tracing::warn!("background compaction of table {table_id}: {err}"),
                Err(err) => {
                    tracing::error!("background compaction of table {table_id} failed: {err}")
                }
            }
        }
    }
}

/// Flushes memtables that are over their size or age limit, once a second, and deletes
/// history past retention once a minute.
async fn flush_loop(db: Arc<Database>, mut stop: watch::Receiver<bool>) {
    let mut last_prune = std::time::Instant::now();
    let mut last_tuner_save = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
        if let Err(err) = db.flush(false).await {
            tracing::error!("background flush failed: {err}");
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = std::time::Instant::now();
            if let Err(err) = tokio::task::block_in_place(|| db.prune_history()) {
                tracing::error!("pruning history past retention failed: {err}");
            }
        }
        if last_tuner_save.elapsed() >= SAVE_TUNER_EVERY {
            last_tuner_save = std::time::Instant::now();
            if let Err(err) = tokio::task::block_in_place(|| db.tuner().save()) {
                tracing::warn!("saving the compression tuner's counts failed: {err}");
            }
        }
    }
}
