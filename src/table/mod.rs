//! `GrizzlyTable`: the DataFusion `TableProvider` over one Grizzly table. `scan.rs` reads
//! a snapshot (Parquet blocks with pushdown, unioned with the memtable); `sink.rs` writes
//! INSERT results through a `TableWriter`.

mod evolution;
mod partitions;
mod scan;

pub use scan::footer_statistics;
mod sink;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::sink::DataSinkExec;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;

use crate::catalog::TableDef;
use crate::storage::{Database, TableSnapshot};

pub struct GrizzlyTable {
    db: Arc<Database>,
    def: TableDef,
    schema: SchemaRef,
    defaults: HashMap<String, Expr>,
    /// A table read as of a past moment (time travel): this snapshot, read-only.
    past: Option<TableSnapshot>,
}

impl std::fmt::Debug for GrizzlyTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GrizzlyTable({})", self.def.name)
    }
}

impl GrizzlyTable {
    pub fn new(db: Arc<Database>, def: TableDef) -> Result<GrizzlyTable> {
        let mut defaults = HashMap::new();
        for column in &def.columns {
            if let Some(sql) = &column.default {
                defaults.insert(column.name.clone(), crate::sql::ddl::parse_default(sql)?);
            }
        }
        Ok(GrizzlyTable {
            schema: def.schema(),
            db,
            def,
            defaults,
            past: None,
        })
    }

    /// The definition the table was planned with.
    pub fn def(&self) -> &TableDef {
        &self.def
    }

    /// The table as `snapshot` shows it, read-only (`FROM t AS OF TIMESTAMP ...`).
    pub fn past(db: Arc<Database>, snapshot: TableSnapshot) -> Result<GrizzlyTable> {
        let mut table = GrizzlyTable::new(db, snapshot.def.clone())?;
        table.past = Some(snapshot);
        Ok(table)
    }
}

#[async_trait]
impl TableProvider for GrizzlyTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn get_column_default(&self, column: &str) -> Option<&Expr> {
        self.defaults.get(column)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.db.tuner().note_read(self.def.id);
        let mut partitions = Vec::new();
        if let Some(snapshot) = &self.past {
            return scan::plan_scan(state, snapshot, projection, filters, limit, &mut partitions);
        }
        let snapshot = self.db.snapshot(self.def.id).ok_or_else(|| {
            DataFusionError::from(crate::error::Error::UndefinedTable(format!(
                "relation \"{}\" does not exist",
                self.def.name
            )))
        })?;
        if snapshot.def.schema_version != self.def.schema_version {
            // The projection's column indexes are those of the definition planned with.
            return Err(crate::error::Error::SerializationFailure(format!(
                "table \"{}\" was altered while this statement was being planned; run it again",
                self.def.name
            ))
            .into());
        }
        let plan = scan::plan_scan(
            state,
            &snapshot,
            projection,
            filters,
            limit,
            &mut partitions,
        )?;
        self.db
            .tuner()
            .note_partition_reads(self.def.id, &partitions);
        Ok(plan)
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Block pruning uses every filter, but it prunes row groups and pages, not rows,
        // so DataFusion still applies each filter above the scan.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if self.past.is_some() {
            return Err(crate::error::Error::InvalidInput(format!(
                "cannot write to \"{}\" as of a past time; write to the table itself",
                self.def.name
            ))
            .into());
        }
        if insert_op != InsertOp::Append {
            return Err(crate::error::Error::Unsupported(format!(
                "{insert_op} is not supported; use a plain INSERT"
            ))
            .into());
        }
        let sink = sink::GrizzlySink::new(self.db.clone(), self.def.clone());
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }
}
