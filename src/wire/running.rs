//! A statement as the connection runs it: while the connection waits for it, the
//! notices it sends (`sql/notices.rs`) go to the client as they come, and a cancel
//! request (PostgreSQL's CancelRequest, sent on a connection of its own and matched to
//! this one by pid and secret key through pgwire's `ConnectionManager`) stops it with
//! 57014, and so does the session's `statement_timeout`, counted from the start to the
//! last row sent. Stopping means dropping the statement's future or stream, which stops
//! the query (or the backup) it drives.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use futures::channel::oneshot;
use futures::stream::BoxStream;
use futures::{stream, Sink, SinkExt, Stream, StreamExt};
use parking_lot::Mutex;
use pgwire::api::ConnectionHandle;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use pgwire::messages::response::NoticeResponse;
use pgwire::messages::PgWireBackendMessage;
use tokio::time::{sleep_until, Instant};

use super::error::to_pg;
use super::idle::{Activity, Busy};
use crate::error::Error;
use crate::sql::Session;

pub struct Running {
    session: Arc<Session>,
    /// Fires on a cancel request; None once it cannot fire any more.
    cancel: Option<oneshot::Receiver<()>>,
    /// When `statement_timeout` stops the statement, if it is set.
    deadline: Option<Instant>,
    /// Marks the connection busy (not idle) until the statement's last row is sent.
    busy: Busy,
}

impl Running {
    /// Starts a statement; from now on a cancel request stops it.
    pub async fn start(
        session: Arc<Session>,
        handle: Option<&ConnectionHandle>,
        activity: &Arc<Activity>,
    ) -> Running {
        let cancel = match handle {
            Some(handle) => Some(handle.start_query().await),
            None => None,
        };
        let settings = session.settings();
        let deadline = settings
            .statement_timeout()
            .map(|timeout| Instant::now() + timeout);
        let busy = activity.busy();
        Running {
            session,
            cancel,
            deadline,
            busy,
        }
    }

    /// Awaits `work`, forwarding notices meanwhile; a cancel request drops `work` and
    /// fails with 57014.
    pub async fn wait<C, T>(
        &mut self,
        client: &mut C,
        work: impl Future<Output = T>,
    ) -> PgWireResult<T>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut work = std::pin::pin!(work);
        let mut notices = self.session.notices().receiver().await;
        loop {
            tokio::select! {
                biased;
                Some(message) = notices.recv() => send_notice(client, message).await?,
                fired = async { self.cancel.as_mut().expect("checked").await },
                    if self.cancel.is_some() =>
                {
                    self.cancel = None;
                    if fired.is_ok() {
                        return Err(to_pg(&Error::QueryCanceled));
                    }
                }
                _ = sleep_until(self.deadline.unwrap_or_else(Instant::now)),
                    if self.deadline.is_some() =>
                {
                    return Err(to_pg(&Error::StatementTimeout));
                }
                output = &mut work => {
                    while let Ok(message) = notices.try_recv() {
                        send_notice(client, message).await?;
                    }
                    return Ok(output);
                }
            }
        }
    }

    /// Result rows that pgwire sends after the statement's first batch: a cancel
    /// request or the statement timeout ends them with 57014.
    pub fn rows<S>(self, rows: S) -> BoxStream<'static, PgWireResult<DataRow>>
    where
        S: Stream<Item = PgWireResult<DataRow>> + Send + 'static,
    {
        // The connection is busy until the rows are sent and the stream dropped.
        let busy = self.busy;
        let rows = rows.map(move |row| {
            let _ = &busy;
            row
        });
        if self.cancel.is_none() && self.deadline.is_none() {
            return rows.boxed();
        }
        let stopped: Arc<Mutex<Option<Error>>> = Arc::default();
        let stop = {
            let stopped = stopped.clone();
            let (cancel, deadline) = (self.cancel, self.deadline);
            async move {
                let cancelled = async {
                    match cancel {
                        Some(cancel) => match cancel.await {
                            Ok(()) => Error::QueryCanceled,
                            Err(_) => std::future::pending().await,
                        },
                        None => std::future::pending().await,
                    }
                };
                let timed_out = async {
                    match deadline {
                        Some(deadline) => sleep_until(deadline).await,
                        None => std::future::pending().await,
                    }
                    Error::StatementTimeout
                };
                let reason = tokio::select! {
                    reason = cancelled => reason,
                    reason = timed_out => reason,
                };
                *stopped.lock() = Some(reason);
            }
        };
        let ending = stream::once(async move { stopped.lock().take().map(|e| Err(to_pg(&e))) })
            .filter_map(|end| async move { end });
        rows.take_until(stop).chain(ending).boxed()
    }
}

async fn send_notice<C>(client: &mut C, message: String) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let notice = ErrorInfo::new("NOTICE".into(), "00000".into(), message);
    let notice = PgWireBackendMessage::NoticeResponse(NoticeResponse::from(notice));
    client.send(notice).await?;
    Ok(())
}
