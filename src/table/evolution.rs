//! Reading blocks written under an older definition of their table (ALTER TABLE never
//! rewrites a block).
//!
//! A block names its columns by stable id (`c{id}`), so against the current definition
//! it can lack a column (added later), hold one the definition no longer has (dropped:
//! never read), or hold a column in a narrower type (widened later). DataFusion's default
//! adapter, which rewrites the scan's projection and predicate for each file, already
//! casts narrower types and ignores extra columns; it reads a missing column as NULL.
//! This adapter first puts the column's `missing` value (what ADD COLUMN's default was)
//! in its place, so the rewritten predicate folds to a constant and pruning skips whole
//! blocks that cannot match.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr_adapter::{
    replace_columns_with_literals, DefaultPhysicalExprAdapterFactory, PhysicalExprAdapter,
    PhysicalExprAdapterFactory,
};

/// Creates, per block, an adapter that reads `values` for columns the block lacks.
#[derive(Debug)]
pub struct MissingColumns {
    /// By physical column name; columns that read NULL where missing are absent.
    values: HashMap<String, ScalarValue>,
}

impl MissingColumns {
    pub fn new(values: HashMap<String, ScalarValue>) -> MissingColumns {
        MissingColumns { values }
    }
}

impl PhysicalExprAdapterFactory for MissingColumns {
    fn create(
        &self,
        logical_file_schema: SchemaRef,
        physical_file_schema: SchemaRef,
    ) -> Result<Arc<dyn PhysicalExprAdapter>> {
        let missing: HashMap<String, ScalarValue> = self
            .values
            .iter()
            .filter(|(name, _)| physical_file_schema.index_of(name).is_err())
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let inner =
            DefaultPhysicalExprAdapterFactory.create(logical_file_schema, physical_file_schema)?;
        Ok(Arc::new(MissingAdapter { missing, inner }))
    }
}

#[derive(Debug)]
struct MissingAdapter {
    missing: HashMap<String, ScalarValue>,
    inner: Arc<dyn PhysicalExprAdapter>,
}

impl PhysicalExprAdapter for MissingAdapter {
    fn rewrite(&self, expr: Arc<dyn PhysicalExpr>) -> Result<Arc<dyn PhysicalExpr>> {
        let expr = if self.missing.is_empty() {
            expr
        } else {
            replace_columns_with_literals(expr, &self.missing)?
        };
        self.inner.rewrite(expr)
    }
}
