//! COPY … TO STDOUT: a query's rows as COPY data, in PostgreSQL's text, CSV or binary
//! format.
//!
//! The connection sends CopyOutResponse, one CopyData per row (the first with the header,
//! as PostgreSQL does) and CopyDone, and the statement then completes with `COPY n`. It sends them itself rather
//! than through pgwire's `CopyResponse`, which counts messages rather than rows (binary's
//! header would count as one) and ends a failed copy with CopyFail, a message only a
//! client may send; here an error or a cancel request mid-copy ends it with an
//! ErrorResponse, as in PostgreSQL.
//!
//! Value text is the same as in query results (`types.rs`); on top of it:
//! - text: `\N` for NULL; backslash, the delimiter and control characters escaped
//!   with a backslash;
//! - CSV: NULL unquoted and empty, a value quoted when it holds the delimiter, the quote,
//!   a line break, or when it reads like NULL (so `""` is an empty string); inside quotes
//!   the quote and escape characters are escaped;
//! - binary: the 19-byte header, then per row a field count and each field's length
//!   (-1 for NULL) and binary value, then a -1 trailer.

use std::fmt::Debug;

use bytes::{BufMut, BytesMut};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::Schema;
use datafusion::execution::SendableRecordBatchStream;
use futures::{Sink, SinkExt, StreamExt};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::copy::{CopyData, CopyDone, CopyOutResponse};
use pgwire::messages::PgWireBackendMessage;

use super::error::to_pg;
use super::running::Running;
use super::types::Column;
use crate::error::Error;
use crate::sql::copy::CopyFormat;

const BINARY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Sends the rows of `stream` as COPY data; returns how many rows were sent.
pub async fn send<C>(
    client: &mut C,
    running: &mut Running,
    schema: &Schema,
    mut stream: SendableRecordBatchStream,
    format: &CopyFormat,
) -> PgWireResult<usize>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let columns = schema.fields().len();
    let column_format = i16::from(format.binary);
    let response = CopyOutResponse::new(
        column_format as i8,
        columns as i16,
        vec![column_format; columns],
    );
    client
        .send(PgWireBackendMessage::CopyOutResponse(response))
        .await?;
    let mut out = BytesMut::new();
    if format.binary {
        out.put_slice(BINARY_SIGNATURE);
        out.put_i32(0); // flags: no OIDs
        out.put_i32(0); // header extension length
    } else if format.header {
        let names = schema.fields();
        put_record(
            &mut out,
            &mut BytesMut::new(),
            format,
            names.len(),
            |i, name| {
                name.put_slice(names[i].name().as_bytes());
                Ok(true)
            },
        )?;
    }
    // The header goes in one message with the first row, as PostgreSQL sends it
    // (psycopg's binary row reader expects that).
    let mut rows = 0;
    while let Some(batch) = running.wait(client, stream.next()).await? {
        let batch = batch.map_err(|e| to_pg(&Error::Query(e)))?;
        for row in encode(&batch, format)? {
            out.unsplit(row);
            feed(client, out.split()).await?;
        }
        rows += batch.num_rows();
    }
    if !out.is_empty() {
        feed(client, out.split()).await?;
    }
    if format.binary {
        out.put_i16(-1);
        feed(client, out.split()).await?;
    }
    // Fed, not flushed: CopyDone leaves with the CommandComplete that follows, as from
    // PostgreSQL (pg-copy-streams reads the row count from that tag when the copy ends).
    client
        .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
        .await?;
    Ok(rows)
}

async fn feed<C>(client: &mut C, data: BytesMut) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let message = PgWireBackendMessage::CopyData(CopyData::new(data.freeze()));
    client.feed(message).await?;
    Ok(())
}

/// One CopyData payload per row of `batch`.
fn encode(batch: &RecordBatch, format: &CopyFormat) -> PgWireResult<Vec<BytesMut>> {
    let columns = batch
        .columns()
        .iter()
        .map(|array| Column::new(array, format.binary))
        .collect::<PgWireResult<Vec<_>>>()?;
    let mut out = BytesMut::with_capacity(batch.num_rows() * 16 * columns.len().max(1));
    let mut text = BytesMut::new();
    let mut rows = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        if format.binary {
            out.put_i16(columns.len() as i16);
            for column in &columns {
                column.encode(row, &mut out)?;
            }
        } else {
            put_record(&mut out, &mut text, format, columns.len(), |i, value| {
                let column = &columns[i];
                if column.is_null(row) {
                    return Ok(false);
                }
                column.put_text(row, value)?;
                Ok(true)
            })?;
        }
        rows.push(out.split());
    }
    Ok(rows)
}

/// Writes one line of text or CSV with `count` values, then a newline. `value(i, text)`
/// writes the text of the i-th value into `text` (a scratch buffer, cleared before each
/// value), or returns false for NULL.
fn put_record(
    out: &mut BytesMut,
    text: &mut BytesMut,
    format: &CopyFormat,
    count: usize,
    mut value: impl FnMut(usize, &mut BytesMut) -> PgWireResult<bool>,
) -> PgWireResult<()> {
    for i in 0..count {
        if i > 0 {
            out.put_u8(format.delimiter);
        }
        text.clear();
        if !value(i, text)? {
            out.put_slice(format.null.as_bytes());
        } else if format.csv {
            put_csv(out, text, format);
        } else {
            put_text(out, text, format.delimiter);
        }
    }
    out.put_u8(b'\n');
    Ok(())
}

fn put_text(out: &mut BytesMut, value: &[u8], delimiter: u8) {
    for &byte in value {
        let escaped = match byte {
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x08 => b'b',
            0x0b => b'v',
            0x0c => b'f',
            _ if byte == delimiter => byte,
            _ => {
                out.put_u8(byte);
                continue;
            }
        };
        out.put_slice(&[b'\\', escaped]);
    }
}

fn put_csv(out: &mut BytesMut, value: &[u8], format: &CopyFormat) {
    let needs_quotes = value == format.null.as_bytes()
        || value
            .iter()
            .any(|&b| b == format.delimiter || b == format.quote || b == b'\n' || b == b'\r');
    if !needs_quotes {
        out.put_slice(value);
        return;
    }
    out.put_u8(format.quote);
    for &byte in value {
        if byte == format.quote || byte == format.escape {
            out.put_u8(format.escape);
        }
        out.put_u8(byte);
    }
    out.put_u8(format.quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(format: &CopyFormat, values: &[Option<&str>]) -> String {
        let mut out = BytesMut::new();
        put_record(
            &mut out,
            &mut BytesMut::new(),
            format,
            values.len(),
            |i, text| {
                text.put_slice(values[i].unwrap_or_default().as_bytes());
                Ok(values[i].is_some())
            },
        )
        .unwrap();
        String::from_utf8(out.to_vec()).unwrap()
    }

    fn format(options: &str) -> CopyFormat {
        let sql = format!("COPY t TO STDOUT {options}");
        let dialect = datafusion::sql::sqlparser::dialect::PostgreSqlDialect {};
        let statement = datafusion::sql::sqlparser::parser::Parser::parse_sql(&dialect, &sql)
            .unwrap()
            .remove(0);
        let datafusion::sql::sqlparser::ast::Statement::Copy {
            options,
            legacy_options,
            ..
        } = statement
        else {
            panic!("not a COPY");
        };
        CopyFormat::from_options(&options, &legacy_options).unwrap()
    }

    #[test]
    fn text_escapes_backslashes_delimiters_and_control_characters() {
        let text = format("");
        assert_eq!(
            line(&text, &[Some("a\tb"), None, Some("c\\d\ne"), Some("")]),
            "a\\tb\t\\N\tc\\\\d\\ne\t\n"
        );
        let pipes = format("WITH (DELIMITER '|')");
        assert_eq!(line(&pipes, &[Some("a|b"), Some("x\ty")]), "a\\|b|x\\ty\n");
    }

    #[test]
    fn csv_quotes_only_what_needs_quotes() {
        let csv = format("WITH (FORMAT csv)");
        assert_eq!(
            line(
                &csv,
                &[
                    Some("plain"),
                    Some("a,b"),
                    Some("say \"hi\""),
                    None,
                    Some("")
                ]
            ),
            "plain,\"a,b\",\"say \"\"hi\"\"\",,\"\"\n"
        );
        assert_eq!(line(&csv, &[Some("two\nlines")]), "\"two\nlines\"\n");
        let escaped = format("WITH (FORMAT csv, ESCAPE '\\', NULL 'NULL')");
        assert_eq!(
            line(&escaped, &[Some("a\"b\\c"), Some("NULL"), None]),
            "\"a\\\"b\\\\c\",\"NULL\",NULL\n"
        );
    }
}
