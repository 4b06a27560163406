//! `GrizzlySink`: where DataFusion's INSERT plans deliver their rows. DataFusion has
//! already filled defaults for omitted columns and cast values to the column types; the
//! sink hands the batches to one `TableWriter`, so one INSERT is one atomic commit.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::sink::DataSink;
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType};
use futures::StreamExt;

use crate::catalog::TableDef;
use crate::storage::{Database, TableWriter};

pub struct GrizzlySink {
    db: Arc<Database>,
    def: TableDef,
    schema: SchemaRef,
}

impl GrizzlySink {
    pub fn new(db: Arc<Database>, def: TableDef) -> GrizzlySink {
        // Every field nullable: NOT NULL is checked by the TableWriter, which reports it
        // with SQLSTATE 23502 instead of DataFusion's generic execution error.
        let fields: Vec<_> = def
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        let schema = Arc::new(datafusion::arrow::datatypes::Schema::new(fields));
        GrizzlySink { schema, db, def }
    }
}

impl std::fmt::Debug for GrizzlySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GrizzlySink({})", self.def.name)
    }
}

impl DisplayAs for GrizzlySink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GrizzlySink: table={}", self.def.name)
    }
}

#[async_trait]
impl DataSink for GrizzlySink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        mut data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let mut writer = TableWriter::begin(self.db.clone(), self.def.clone()).await?;
        while let Some(batch) = data.next().await {
            writer.push(batch?.columns())?;
        }
        Ok(writer.commit().await?)
    }
}
