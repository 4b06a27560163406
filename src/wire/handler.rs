//! One connection's pgwire handlers. pgwire drives the protocol state machine (portals,
//! Sync/Flush, PortalSuspended for max_rows, COPY sub-protocol); these handlers turn its
//! callbacks into `Session` calls and `Outcome`s into responses.

use std::fmt::Debug;
use std::sync::{Arc, LazyLock, OnceLock};

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use futures::{stream, Sink, SinkExt, Stream, StreamExt};
use pgwire::api::auth::StartupHandler;
use pgwire::api::cancel::{CancelHandler, DefaultCancelHandler};
use pgwire::api::copy::CopyHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{
    CopyResponse, DescribeResponse, FieldInfo, QueryResponse, Response, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{
    ClientInfo, ClientPortalStore, ConnectionGuard, ConnectionHandle, ConnectionManager,
    PgWireServerHandlers, RandomPidSecretKeyGenerator, Type, DEFAULT_NAME,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail};
use pgwire::messages::data::{DataRow, NoData, ParameterDescription, RowDescription};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Describe, Parse, ParseComplete, TARGET_TYPE_BYTE_PORTAL,
    TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::NoticeResponse;
use pgwire::messages::PgWireBackendMessage;

use super::copy_out;
use super::error::to_pg;
use super::idle::Activity;
use super::params;
use super::running::Running;
use super::startup::Authenticator;
use super::types::{encode_batch, field_pg_type, row_description};
use crate::error::Error;
use crate::sql::{CopyIn, Outcome, Prepared, Session};
use crate::storage::Database;

pub(super) static PIDS: LazyLock<RandomPidSecretKeyGenerator> =
    LazyLock::new(RandomPidSecretKeyGenerator::default);

/// The handlers of one connection; the session is created once startup names the
/// database.
pub struct ConnectionHandlers {
    inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) db: Arc<Database>,
    pub(super) authenticator: Arc<Authenticator>,
    pub(super) activity: Arc<Activity>,
    pub(super) session: OnceLock<Arc<Session>>,
    /// Where cancel requests find this connection's running statement.
    pub(super) cancels: Arc<ConnectionManager>,
    pub(super) cancel: OnceLock<(Arc<ConnectionHandle>, ConnectionGuard)>,
    copy: tokio::sync::Mutex<Option<Box<CopyIn>>>,
    pub(super) parser: Arc<StatementParser>,
}

impl ConnectionHandlers {
    /// `cancels` and `authenticator` are shared by every connection of the server;
    /// `activity` is this connection's, which the server watches for idleness.
    pub fn new(
        db: Arc<Database>,
        cancels: Arc<ConnectionManager>,
        authenticator: Arc<Authenticator>,
        activity: Arc<Activity>,
    ) -> ConnectionHandlers {
        let session = OnceLock::new();
        let parser = Arc::new(StatementParser {
            session: Arc::new(OnceLock::new()),
        });
        ConnectionHandlers {
            inner: Arc::new(Inner {
                db,
                authenticator,
                activity,
                session,
                cancels,
                cancel: OnceLock::new(),
                copy: tokio::sync::Mutex::new(None),
                parser,
            }),
        }
    }
}

impl PgWireServerHandlers for ConnectionHandlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.inner.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.inner.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.inner.clone()
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        Arc::new(DefaultCancelHandler::new(self.inner.cancels.clone()))
    }

    fn copy_handler(&self) -> Arc<impl CopyHandler> {
        self.inner.clone()
    }
}

impl Inner {
    /// Starts running a statement of this connection's session.
    async fn start(&self) -> PgWireResult<Running> {
        let session = self.session()?.clone();
        Ok(Running::start(
            session,
            self.cancel.get().map(|(handle, _)| handle.as_ref()),
            &self.activity,
        )
        .await)
    }

    fn session(&self) -> PgWireResult<&Arc<Session>> {
        self.session
            .get()
            .ok_or_else(|| to_pg(&Error::Internal("query before startup".into())))
    }
}

/// Outcome → Response. `describe` says whether RowDescription goes with the rows (simple
/// protocol) or was sent by Describe (extended).
async fn respond<C>(
    inner: &Inner,
    client: &mut C,
    mut running: Running,
    outcome: Outcome,
    format: &Format,
    eager: bool,
) -> PgWireResult<Response>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    Ok(match outcome {
        Outcome::Rows {
            schema,
            stream: mut batches,
            tag,
        } => {
            let fields = Arc::new(row_description(&schema, format));
            // Run the query up to its first batch now, so that an error the query hits
            // at once is reported as the statement's error rather than mid-stream.
            let first = match eager {
                true => running.wait(client, batches.next()).await?,
                false => None,
            };
            let first = match first {
                Some(Err(err)) => return Err(to_pg(&Error::Query(err))),
                other => other,
            };
            let encoded = read_ahead(stream::iter(first).chain(batches), fields.clone());
            let rows = encoded.flat_map(|rows| {
                let (rows, err) = match rows {
                    Ok(rows) => (rows, None),
                    Err(err) => (Vec::new(), Some(Err(err))),
                };
                stream::iter(rows.into_iter().map(Ok).chain(err))
            });
            let mut response = QueryResponse::new(fields, running.rows(rows));
            response.set_command_tag(tag);
            Response::Query(response)
        }
        Outcome::Command { tag, rows, oid } => {
            let mut tag = Tag::new(&tag);
            if oid {
                tag = tag.with_oid(0);
            }
            if let Some(rows) = rows {
                tag = tag.with_rows(rows as usize);
            }
            Response::Execution(tag)
        }
        Outcome::TransactionStart(tag) => Response::TransactionStart(Tag::new(&tag)),
        Outcome::TransactionEnd { tag, warning } => {
            if let Some(warning) = warning {
                let notice = ErrorInfo::new("WARNING".into(), "01000".into(), warning);
                client
                    .send(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(
                        notice,
                    )))
                    .await?;
            }
            Response::TransactionEnd(Tag::new(&tag))
        }
        Outcome::CopyIn(copy) => {
            let columns = copy.input_columns();
            let format = i8::from(copy.binary());
            *inner.copy.lock().await = Some(copy);
            // For COPY IN pgwire sends only the format and column count.
            Response::CopyIn(CopyResponse::new(format, columns, stream::empty()))
        }
        Outcome::CopyOut {
            schema,
            stream,
            format,
        } => {
            let rows = copy_out::send(client, &mut running, &schema, stream, &format).await?;
            Response::Execution(Tag::new("COPY").with_rows(rows))
        }
    })
}

#[async_trait]
impl SimpleQueryHandler for Inner {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = self.session()?.clone();
        let statements = match session.parse(query) {
            Ok(statements) => statements,
            Err(err) => return Ok(vec![Response::Error(Box::new(error_info(&err)))]),
        };
        let mut responses = Vec::new();
        for statement in statements {
            let run = async {
                let prepared = session.prepare(statement).await?;
                session.execute(&prepared, Vec::new()).await
            };
            let mut running = self.start().await?;
            let outcome = running.wait(client, run).await?;
            let response = match outcome {
                Ok(outcome) => {
                    respond(self, client, running, outcome, &Format::UnifiedText, true).await
                }
                Err(err) => Err(to_pg(&err)),
            };
            match response {
                Ok(response) => {
                    let is_copy = matches!(response, Response::CopyIn(_));
                    responses.push(response);
                    if is_copy {
                        break; // the rest of the string would run after the copy data
                    }
                }
                Err(PgWireError::UserError(info)) => {
                    responses.push(Response::Error(info));
                    break; // PostgreSQL stops a query string at its first error
                }
                Err(other) => return Err(other),
            }
        }
        Ok(responses)
    }
}

fn error_info(err: &Error) -> ErrorInfo {
    let (code, message) = super::error::classify(err);
    ErrorInfo::new("ERROR".into(), code.into(), message)
}

/// Parses and plans statements for the extended protocol.
pub struct StatementParser {
    pub(super) session: Arc<OnceLock<Arc<Session>>>,
}

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = Prepared;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let session = self
            .session
            .get()
            .ok_or_else(|| to_pg(&Error::Internal("parse before startup".into())))?;
        let types: Vec<Option<&str>> = types
            .iter()
            .map(|t| t.as_ref().and_then(super::params::sql_type_name))
            .collect();
        session
            .prepare_sql(sql, &types)
            .await
            .map_err(|e| to_pg(&e))
    }

    fn get_parameter_types(&self, prepared: &Prepared) -> PgWireResult<Vec<Type>> {
        Ok(prepared
            .param_fields
            .iter()
            .map(|f| f.as_deref().map(field_pg_type).unwrap_or(Type::TEXT))
            .collect())
    }

    fn get_result_schema(
        &self,
        prepared: &Prepared,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        Ok(match &prepared.output {
            Some(schema) => row_description(schema, format.unwrap_or(&Format::UnifiedText)),
            None => Vec::new(),
        })
    }
}

#[async_trait]
impl ExtendedQueryHandler for Inner {
    type Statement = Prepared;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<StatementParser> {
        self.parser.clone()
    }

    // Parse, Bind and Describe are pgwire's defaults except that their replies are
    // queued rather than flushed: the client reads nothing until Sync or Flush,
    // which flush everything at once (one socket write per round trip, as PostgreSQL).
    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        match StoredStatement::parse(client, &message, self.query_parser()).await? {
            Some(statement) => client.portal_store().put_statement(Arc::new(statement)),
            None => client.portal_store().put_empty_statement(name),
        }
        client
            .feed(PgWireBackendMessage::ParseComplete(ParseComplete::new()))
            .await?;
        Ok(())
    }

    async fn on_bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement_name = message.statement_name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal_name = message.portal_name.as_deref().unwrap_or(DEFAULT_NAME);
        match client.portal_store().get_statement(statement_name) {
            Some(Entry::Value(statement)) => {
                let portal = Portal::try_new(&message, statement)?;
                client.portal_store().put_portal(Arc::new(portal));
            }
            Some(Entry::Empty) if message.parameters.is_empty() => {
                client.portal_store().put_empty_portal(portal_name);
            }
            Some(Entry::Empty) => {
                return Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                    "ERROR".into(),
                    "08P01".into(),
                    format!(
                        "bind message supplies {} parameters, but prepared statement \"{statement_name}\" requires 0",
                        message.parameters.len()
                    ),
                ))))
            }
            None => return Err(PgWireError::StatementNotFound(statement_name.to_owned())),
        }
        client
            .feed(PgWireBackendMessage::BindComplete(BindComplete::new()))
            .await?;
        Ok(())
    }

    // pgwire's default describe, except that its replies are queued like ParseComplete's.
    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let store = client.portal_store();
        // (parameter types, result fields; None for NoData)
        let (parameters, fields) = match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => match store.get_statement(name) {
                Some(Entry::Value(statement)) => {
                    let described = self.do_describe_statement(client, &statement).await?;
                    let parameters = described.parameters().map(<[Type]>::to_vec);
                    // A statement that returns no rows (INSERT, CREATE…) is NoData, not
                    // an empty RowDescription: pgjdbc takes the latter for a result.
                    let fields = match statement.statement.output {
                        Some(_) => described_fields(&described),
                        None => None,
                    };
                    (parameters, fields)
                }
                Some(Entry::Empty) => (Some(Vec::new()), None),
                None => return Err(PgWireError::StatementNotFound(name.to_owned())),
            },
            TARGET_TYPE_BYTE_PORTAL => match store.get_portal(name) {
                Some(Entry::Value(portal)) => {
                    let described = self.do_describe_portal(client, &portal).await?;
                    (None, described_fields(&described))
                }
                Some(Entry::Empty) => (None, None),
                // A cursor is a portal too: psycopg 3 describes its server-side cursors
                // by name after DECLARE.
                None => match self.session()?.cursor_schema(name) {
                    Some(schema) => (None, Some(row_description(&schema, &Format::UnifiedText))),
                    None => return Err(PgWireError::PortalNotFound(name.to_owned())),
                },
            },
            other => return Err(PgWireError::InvalidTargetType(other)),
        };
        if let Some(parameters) = parameters {
            let oids = parameters.iter().map(Type::oid).collect();
            client
                .feed(PgWireBackendMessage::ParameterDescription(
                    ParameterDescription::new(oids),
                ))
                .await?;
        }
        let reply = match fields {
            None => PgWireBackendMessage::NoData(NoData::new()),
            Some(fields) => PgWireBackendMessage::RowDescription(RowDescription::new(
                fields.iter().map(Into::into).collect(),
            )),
        };
        client.feed(reply).await?;
        Ok(())
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Prepared>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = self.session()?.clone();
        let params = params::decode(portal).map_err(|e| to_pg(&e))?;
        let run = session.execute(&portal.statement.statement, params);
        let mut running = self.start().await?;
        let outcome = running.wait(client, run).await?.map_err(|e| to_pg(&e))?;
        let format = &portal.result_column_format;
        match outcome {
            // pgwire's portal collects every row of an Execute in memory before sending
            // the first; an Execute without a row limit streams them here instead.
            Outcome::Rows {
                schema,
                stream,
                tag,
            } if max_rows == 0 => {
                let fields = Arc::new(row_description(&schema, format));
                let mut encoded = std::pin::pin!(read_ahead(stream, fields));
                let mut sent = 0;
                while let Some(rows) = running.wait(client, encoded.next()).await? {
                    for row in rows? {
                        client.feed(PgWireBackendMessage::DataRow(row)).await?;
                        sent += 1;
                    }
                }
                Ok(Response::Execution(Tag::new(tag).with_rows(sent)))
            }
            outcome => respond(self, client, running, outcome, format, true).await,
        }
    }
}

/// Result batches encoded as data rows by a task of their own, up to `READ_AHEAD_BATCHES`
/// ahead of the socket: the query decodes and encodes the next batches while the
/// connection waits for the client to drain the last ones, instead of only after. When
/// the response is dropped (the client went away, or the portal was closed), the task is
/// aborted and the query with it.
fn read_ahead(
    batches: impl Stream<Item = datafusion::error::Result<RecordBatch>> + Send + 'static,
    fields: Arc<Vec<FieldInfo>>,
) -> impl Stream<Item = PgWireResult<Vec<DataRow>>> {
    const READ_AHEAD_BATCHES: usize = 2;
    let (mut sender, receiver) = futures::channel::mpsc::channel(READ_AHEAD_BATCHES);
    let task = tokio::spawn(async move {
        let mut batches = std::pin::pin!(batches);
        while let Some(batch) = batches.next().await {
            let rows = match batch {
                Ok(batch) => encode_batch(&batch, &fields),
                Err(err) => Err(to_pg(&Error::Query(err))),
            };
            let failed = rows.is_err();
            if sender.send(rows).await.is_err() || failed {
                break;
            }
        }
    });
    let guard = AbortOnDrop(task.abort_handle());
    receiver.map(move |rows| {
        let _ = &guard;
        rows
    })
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn described_fields(described: &impl DescribeResponse) -> Option<Vec<FieldInfo>> {
    (!described.is_no_data()).then(|| described.fields().to_vec())
}

#[async_trait]
impl CopyHandler for Inner {
    async fn on_copy_data<C>(&self, _client: &mut C, copy_data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.activity.touch();
        let mut copy = self.copy.lock().await;
        if let Some(copy) = copy.as_mut() {
            copy.feed(&copy_data.data).await;
        }
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let copy = self.copy.lock().await.take();
        let Some(copy) = copy else {
            return Err(to_pg(&Error::Internal(
                "COPY done without a COPY in progress".into(),
            )));
        };
        let rows = copy.finish().await.map_err(|e| to_pg(&e))?;
        let tag = Tag::new("COPY").with_rows(rows as usize);
        client
            .send(PgWireBackendMessage::CommandComplete(tag.into()))
            .await?;
        Ok(())
    }

    async fn on_copy_fail<C>(&self, _client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let copy = self.copy.lock().await.take();
        let table = copy
            .as_ref()
            .map(|c| c.table().to_string())
            .unwrap_or_default();
        drop(copy); // nothing of an aborted COPY is committed
        PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".into(),
            "57014".into(),
            format!(
                "COPY from stdin failed: {} (nothing was written to \"{table}\")",
                fail.message
            ),
        )))
    }
}
