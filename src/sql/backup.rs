//! Backups from SQL: `SELECT * FROM grizzly_backup('s3://bucket/prefix')` takes one and
//! returns what it did; `SELECT * FROM grizzly_backups('s3://bucket/prefix')` lists the
//! backups there with the times a restore from each can reach (`crate::backup`).
//!
//! Both run when the query executes, not when it is planned (EXPLAIN takes no backup):
//! each is a one-partition streaming table whose stream does the work. The backup
//! reports progress as NOTICE messages, and a cancelled statement drops its stream,
//! which stops the backup before its descriptor: the backup then does not exist, and
//! the next one reuses what it uploaded.

use std::sync::Arc;

use arrow::array::TimestampMicrosecondArray;
use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl};
use datafusion::common::ScalarValue;
use datafusion::datasource::TableProvider;
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::future::BoxFuture;

use super::time_travel::timestamptz;
use super::NoticeSender;
use crate::backup::{self, Location};
use crate::error::{Error, Result};
use crate::storage::Database;

/// `grizzly_backup(url)`.
pub struct BackupFunction {
    db: Arc<Database>,
    notices: NoticeSender,
    superuser: bool,
}

impl BackupFunction {
    /// `superuser`: whether the session may take backups (only superusers may).
    pub fn new(db: Arc<Database>, notices: NoticeSender, superuser: bool) -> BackupFunction {
        BackupFunction {
            db,
            notices,
            superuser,
        }
    }
}

impl TableFunctionImpl for BackupFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DFResult<Arc<dyn TableProvider>> {
        if !self.superuser {
            return Err(Error::InsufficientPrivilege(
                "permission denied for function grizzly_backup: only a superuser can take \
                 backups"
                    .into(),
            )
            .into());
        }
        let location = location_argument("grizzly_backup", &args, &self.db)?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("backup_id", DataType::Utf8, false),
            Field::new("commit_ts", timestamptz(), false),
            Field::new("bytes_uploaded", DataType::Int64, false),
            Field::new("blocks_uploaded", DataType::Int64, false),
            Field::new("blocks_present", DataType::Int64, false),
            Field::new("wal_segments", DataType::Int64, false),
            Field::new("duration_seconds", DataType::Float64, false),
        ]));
        let (db, notices) = (self.db.clone(), self.notices.clone());
        one_batch(schema.clone(), move || {
            let (db, notices) = (db.clone(), notices.clone());
            let (location, schema) = (location.clone(), schema.clone());
            Box::pin(async move {
                let progress = |message: &str| notices.send(message);
                let report = backup::take::take(&db, &location, &progress).await?;
                let columns: Vec<ArrayRef> = vec![
                    Arc::new(StringArray::from(vec![report.id])),
                    timestamps(vec![report.commit_ts]),
                    Arc::new(Int64Array::from(vec![report.bytes_uploaded as i64])),
                    Arc::new(Int64Array::from(vec![report.blocks_uploaded as i64])),
                    Arc::new(Int64Array::from(vec![report.blocks_present as i64])),
                    Arc::new(Int64Array::from(vec![report.wal_segments as i64])),
                    Arc::new(Float64Array::from(vec![report.duration.as_secs_f64()])),
                ];
                Ok(RecordBatch::try_new(schema, columns)?)
            })
        })
    }
}

/// `grizzly_backups(url)`.
pub struct BackupsFunction {
    db: Arc<Database>,
}

impl std::fmt::Debug for BackupFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupFunction")
    }
}

impl std::fmt::Debug for BackupsFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupsFunction")
    }
}

impl BackupsFunction {
    pub fn new(db: Arc<Database>) -> BackupsFunction {
        BackupsFunction { db }
    }
}

impl TableFunctionImpl for BackupsFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DFResult<Arc<dyn TableProvider>> {
        let location = location_argument("grizzly_backups", &args, &self.db)?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("backup_id", DataType::Utf8, false),
            Field::new("earliest_time", timestamptz(), false),
            Field::new("latest_time", timestamptz(), false),
            Field::new("objects", DataType::Int64, false),
            Field::new("bytes", DataType::Int64, false),
        ]));
        one_batch(schema.clone(), move || {
            let (location, schema) = (location.clone(), schema.clone());
            Box::pin(async move {
                let backups = backup::list(&location).await?;
                let columns: Vec<ArrayRef> = vec![
                    Arc::new(StringArray::from_iter_values(backups.iter().map(|b| &b.id))),
                    timestamps(backups.iter().map(|b| b.earliest_ts).collect()),
                    timestamps(backups.iter().map(|b| b.commit_ts).collect()),
                    Arc::new(Int64Array::from_iter_values(
                        backups.iter().map(|b| b.objects.len() as i64),
                    )),
                    Arc::new(Int64Array::from_iter_values(
                        backups
                            .iter()
                            .map(|b| b.objects.iter().map(|o| o.bytes as i64).sum()),
                    )),
                ];
                Ok(RecordBatch::try_new(schema, columns)?)
            })
        })
    }
}

fn location_argument(
    function: &str,
    args: &TableFunctionArgs,
    db: &Database,
) -> DFResult<Location> {
    let url = match args.exprs() {
        [Expr::Literal(ScalarValue::Utf8(Some(url)), _)] => url,
        _ => {
            return Err(Error::InvalidInput(format!(
                "{function} takes one argument, the backup location as a string: \
                 {function}('s3://bucket/prefix') or {function}('file:///path')"
            ))
            .into())
        }
    };
    Ok(Location::open(url, &db.config().store)?)
}

fn timestamps(values: Vec<i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values).with_timezone("+00:00"))
}

type Work = Box<dyn Fn() -> BoxFuture<'static, Result<RecordBatch>> + Send + Sync>;

/// A table of one batch that `work` makes when the query runs.
fn one_batch(
    schema: SchemaRef,
    work: impl Fn() -> BoxFuture<'static, Result<RecordBatch>> + Send + Sync + 'static,
) -> DFResult<Arc<dyn TableProvider>> {
    let partition = Arc::new(OneBatch {
        schema: schema.clone(),
        work: Box::new(work),
    });
    Ok(Arc::new(StreamingTable::try_new(schema, vec![partition])?))
}

struct OneBatch {
    schema: SchemaRef,
    work: Work,
}

impl std::fmt::Debug for OneBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneBatch")
    }
}

impl PartitionStream for OneBatch {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let work = (self.work)();
        let batch = futures::stream::once(async move {
            work.await
                .map_err(|e| DataFusionError::External(Box::new(e)))
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), batch))
    }
}
