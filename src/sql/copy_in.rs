//! `CopyIn`: one COPY … FROM STDIN in progress. It parses `CopyData` payloads as they
//! arrive, converts every `BATCH_ROWS` rows to typed columns (filling defaults for
//! columns the COPY does not list) and pushes them into a `TableWriter`, so the whole
//! COPY is one atomic commit with bounded memory.
//!
//! Like PostgreSQL, a bad row fails the whole COPY; the error is kept and reported when
//! the client ends the copy, and the data after it is discarded unread.

use arrow::array::ArrayRef;
use datafusion::common::ScalarValue;

use super::copy::{convert_column, CopyFormat, CopyParser, BATCH_ROWS};
use crate::catalog::TableDef;
use crate::error::{Error, Result};
use crate::storage::TableWriter;

/// Where a table column's values come from.
enum Source {
    /// Field `n` of each input row.
    Input(usize),
    /// The column's default (or NULL), the same for every row.
    Constant(ScalarValue),
}

pub struct CopyIn {
    def: TableDef,
    parser: CopyParser,
    sources: Vec<Source>,
    writer: TableWriter,
    error: Option<Error>,
}

impl CopyIn {
    /// `columns`: the listed column names (empty means all, in table order);
    /// `defaults`: each table column's default value, evaluated once.
    pub fn new(
        def: TableDef,
        columns: Vec<String>,
        format: CopyFormat,
        defaults: Vec<ScalarValue>,
        writer: TableWriter,
    ) -> Result<CopyIn> {
        let columns = if columns.is_empty() {
            def.columns.iter().map(|c| c.name.clone()).collect()
        } else {
            for name in &columns {
                if def.column(name).is_none() {
                    return Err(Error::UndefinedColumn(format!(
                        "column \"{name}\" of relation \"{}\" does not exist",
                        def.name
                    )));
                }
            }
            columns
        };
        let sources = def
            .columns
            .iter()
            .zip(defaults)
            .map(
                |(column, default)| match columns.iter().position(|n| *n == column.name) {
                    Some(index) => Source::Input(index),
                    None => Source::Constant(default),
                },
            )
            .collect();
        let parser = CopyParser::new(format, columns);
        Ok(CopyIn {
            def,
            parser,
            sources,
            writer,
            error: None,
        })
    }

    pub fn table(&self) -> &str {
        &self.def.name
    }

    pub fn input_columns(&self) -> usize {
        self.sources
            .iter()
            .filter(|s| matches!(s, Source::Input(_)))
            .count()
    }

    /// Takes one `CopyData` payload.
    pub fn feed(&mut self, data: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let result = self.parser.feed(data).and_then(|()| {
            if self.parser.buffered_rows() >= BATCH_ROWS {
                self.write_parsed()
            } else {
                Ok(())
            }
        });
        if let Err(err) = result {
            self.error = Some(err);
        }
    }

    /// Ends the copy: commits every row, or nothing if any row was bad.
    pub async fn finish(mut self) -> Result<u64> {
        if let Some(err) = self.error.take() {
            return Err(err);
        }
        self.parser.finish()?;
        self.write_parsed()?;
        let CopyIn { writer, .. } = self;
        writer.commit().await
    }

    fn write_parsed(&mut self) -> Result<()> {
        let (mut fields, lines) = self.parser.take();
        if lines.is_empty() {
            return Ok(());
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.sources.len());
        for (column, source) in self.def.columns.iter().zip(&self.sources) {
            let array = match source {
                Source::Input(index) => convert_column(
                    column,
                    std::mem::take(&mut fields[*index]),
                    &lines,
                    &self.def.name,
                )?,
                Source::Constant(value) => value.to_array_of_size(lines.len())?,
            };
            columns.push(array);
        }
        self.writer.push(&columns)
    }
}
