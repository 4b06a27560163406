//! The server: accepts TCP connections and serves each with its own pgwire handlers,
//! flushes memtables in the background, and shuts down cleanly on request (flushing
//! memtables so the next start has no WAL to replay).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::storage::Database;
use crate::wire::{ConnectionHandlers, ConnectionManager};

pub struct Server {
    db: Arc<Database>,
    listener: TcpListener,
}

impl Server {
    /// Opens the database (recovering it) and binds the listener.
    pub async fn bind(config: Config, listen: &str) -> Result<Server> {
        let db = Database::open(config)?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| Error::io_context(e, format!("cannot listen on {listen}")))?;
        Ok(Server { db, listener })
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
                    let handlers = Arc::new(ConnectionHandlers::new(self.db.clone(), cancels.clone()));
                    tokio::spawn(async move {
                        if let Err(err) = pgwire::tokio::process_socket(socket, None, handlers).await {
                            tracing::debug!("connection from {peer} ended: {err}");
                        }
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
