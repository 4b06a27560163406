//! `GrizzlySchema`: the DataFusion `SchemaProvider` for the `public` schema, backed by
//! the database's manifest. Each lookup builds a fresh `GrizzlyTable` from the current
//! definition, so a query always plans against the table as it is now.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::error::Result;

use crate::sql::introspection::{tuner_view, TUNER_VIEW};
use crate::storage::Database;
use crate::table::GrizzlyTable;

#[derive(Clone)]
pub struct GrizzlySchema {
    db: Arc<Database>,
}

impl std::fmt::Debug for GrizzlySchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GrizzlySchema")
    }
}

impl GrizzlySchema {
    pub fn new(db: Arc<Database>) -> GrizzlySchema {
        GrizzlySchema { db }
    }
}

#[async_trait]
impl SchemaProvider for GrizzlySchema {
    fn table_names(&self) -> Vec<String> {
        self.db.table_names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        match self.db.table(name) {
            Some(def) => Ok(Some(Arc::new(GrizzlyTable::new(self.db.clone(), def)?))),
            None if name == TUNER_VIEW => Ok(Some(tuner_view(&self.db)?)),
            None => Ok(None),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.db.table(name).is_some() || name == TUNER_VIEW
    }
}
