//! `CopyIn`: one COPY … FROM STDIN in progress, run as a three-stage pipeline.
//!
//! The connection's task parses `CopyData` payloads into string columns
//! (`copy_parse.rs`; binary data through `copy_binary.rs`) and hands every `BATCH_ROWS` rows over a bounded channel to a
//! blocking worker, which converts them to typed columns (`copy_convert.rs`), fills
//! defaults for columns the COPY does not list, and pushes them into a `TableWriter`,
//! whose Parquet encoding, the costliest step, runs on a third thread (`BlockSet`). So
//! parsing, converting and encoding overlap, and memory stays bounded: at most
//! `QUEUED_BATCHES` batches wait between each two stages.
//!
//! The whole COPY is one atomic commit. Like PostgreSQL, a bad row fails all of it; the
//! first error by input line is reported when the client ends the copy, and the data
//! after it is discarded unread.

use arrow::array::ArrayRef;
use datafusion::common::ScalarValue;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::copy::{CopyFormat, BATCH_ROWS};
use super::copy_binary::BinaryParser;
use super::copy_convert::{convert_column, Origin};
use super::copy_parse::{CopyParser, ParsedRows};
use crate::catalog::TableDef;
use crate::error::{Error, Result};
use crate::storage::TableWriter;

/// Parsed batches that may wait for the worker.
const QUEUED_BATCHES: usize = 2;

/// Where a table column's values come from.
enum Source {
    /// Field `n` of each input row.
    Input(usize),
    /// The column's default (or NULL), the same for every row.
    Constant(ScalarValue),
}

/// Text and CSV, or binary.
enum Parser {
    Text(CopyParser),
    Binary(BinaryParser),
}

impl Parser {
    fn feed(&mut self, data: &[u8]) -> Result<()> {
        match self {
            Parser::Text(parser) => parser.feed(data),
            Parser::Binary(parser) => parser.feed(data),
        }
    }

    fn finish(&mut self) -> Result<()> {
        match self {
            Parser::Text(parser) => parser.finish(),
            Parser::Binary(parser) => parser.finish(),
        }
    }

    fn take(&mut self) -> ParsedRows {
        match self {
            Parser::Text(parser) => parser.take(),
            Parser::Binary(parser) => parser.take(),
        }
    }

    fn buffered_rows(&self) -> usize {
        match self {
            Parser::Text(parser) => parser.buffered_rows(),
            Parser::Binary(parser) => parser.buffered_rows(),
        }
    }
}

pub struct CopyIn {
    table: String,
    input_columns: usize,
    binary: bool,
    parser: Parser,
    /// None once the worker has stopped taking batches (it failed) or input ended.
    batches: Option<mpsc::Sender<ParsedRows>>,
    worker: JoinHandle<Result<TableWriter>>,
    /// The first parse error; rows before it still go to the worker, whose own error,
    /// being on an earlier line, wins.
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
        let sources: Vec<Source> = def
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
        let (sender, receiver) = mpsc::channel(QUEUED_BATCHES);
        let binary = format.binary;
        let parser = match binary {
            true => Parser::Binary(BinaryParser::new(
                columns
                    .iter()
                    .filter_map(|name| def.column(name))
                    .map(|c| c.column_type.clone())
                    .collect(),
            )),
            false => Parser::Text(CopyParser::new(format, columns.clone())),
        };
        Ok(CopyIn {
            table: def.name.clone(),
            input_columns: columns.len(),
            binary,
            parser,
            batches: Some(sender),
            worker: tokio::task::spawn_blocking(move || {
                write_batches(def, sources, receiver, writer)
            }),
            error: None,
        })
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn input_columns(&self) -> usize {
        self.input_columns
    }

    /// Whether the data comes in the binary format.
    pub fn binary(&self) -> bool {
        self.binary
    }

    /// Takes one `CopyData` payload.
    pub async fn feed(&mut self, data: &[u8]) {
        if self.error.is_some() || self.batches.is_none() {
            return;
        }
        let parsed = tokio::task::block_in_place(|| self.parser.feed(data));
        if let Err(err) = parsed {
            self.error = Some(err);
            self.send_parsed().await;
            self.batches = None;
        } else if self.parser.buffered_rows() >= BATCH_ROWS {
            self.send_parsed().await;
        }
    }

    /// Ends the copy: commits every row, or nothing if any row was bad.
    pub async fn finish(mut self) -> Result<u64> {
        if self.error.is_none() {
            if let Err(err) = self.parser.finish() {
                self.error = Some(err);
            }
            self.send_parsed().await;
        }
        self.batches = None; // the worker drains the queue and returns the writer
        let written = match (&mut self.worker).await {
            Ok(written) => written,
            Err(join) => Err(Error::Internal(format!("COPY worker failed: {join}"))),
        };
        let writer = written?;
        if let Some(err) = self.error.take() {
            return Err(err); // dropping the writer deletes what it staged
        }
        writer.commit().await
    }

    async fn send_parsed(&mut self) {
        let rows = self.parser.take();
        if rows.lines.is_empty() {
            return;
        }
        if let Some(batches) = &self.batches {
            if batches.send(rows).await.is_err() {
                // The worker stopped on a bad value; `finish` reports its error.
                self.batches = None;
            }
        }
    }
}

/// The worker: converts each parsed batch and pushes it into the writer, until the
/// parser closes the channel. Stops at the first bad value.
fn write_batches(
    def: TableDef,
    sources: Vec<Source>,
    mut receiver: mpsc::Receiver<ParsedRows>,
    mut writer: TableWriter,
) -> Result<TableWriter> {
    while let Some(ParsedRows { columns, lines }) = receiver.blocking_recv() {
        let mut inputs: Vec<_> = columns.into_iter().map(Some).collect();
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(sources.len());
        for (column, source) in def.columns.iter().zip(&sources) {
            let array = match source {
                Source::Input(index) => {
                    let strings = inputs[*index].take().expect("each input feeds one column");
                    let origin = Origin {
                        table: &def.name,
                        column,
                        lines: &lines,
                    };
                    convert_column(strings, &origin)?
                }
                Source::Constant(value) => value.to_array_of_size(lines.len())?,
            };
            arrays.push(array);
        }
        writer.push(&arrays)?;
    }
    Ok(writer)
}
