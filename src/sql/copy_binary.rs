//! COPY … FROM STDIN in PostgreSQL's binary format (asyncpg's `copy_records_to_table`,
//! psycopg's binary copy).
//!
//! Format: the 11-byte signature `PGCOPY\n\377\r\n\0`, a 32-bit flags field (bit 16: OIDs
//! included, refused), a 32-bit header-extension length and that many bytes; then per
//! row a 16-bit field count and, per field, a 32-bit length (-1 for NULL) and the value
//! in the type's binary send format; a field count of -1 ends the data.
//!
//! Each value is decoded by its column's type and written as the text the text format
//! would have carried, so the rows join the same convert-and-write pipeline as text
//! and CSV (`copy_in.rs`). That costs a second parse per value; binary COPY is for
//! drivers' convenience here, and text remains the fast path. Errors name the row.

use arrow::array::StringBuilder;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use postgres_types::{FromSql, Type};

use super::copy_parse::ParsedRows;
use crate::catalog::ColumnType;
use crate::error::{Error, Result};

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

pub struct BinaryParser {
    types: Vec<ColumnType>,
    pending: Vec<u8>,
    header_read: bool,
    done: bool,
    /// Rows read so far (the next is row `row + 1`).
    row: u64,
    builders: Vec<StringBuilder>,
    rows: Vec<u64>,
}

fn bad(message: String) -> Error {
    Error::BadCopyFile(message)
}

impl BinaryParser {
    /// `types`: the types of the columns the input holds, in order.
    pub fn new(types: Vec<ColumnType>) -> BinaryParser {
        let builders = types.iter().map(|_| StringBuilder::new()).collect();
        BinaryParser {
            types,
            pending: Vec::new(),
            header_read: false,
            done: false,
            row: 0,
            builders,
            rows: Vec::new(),
        }
    }

    pub fn buffered_rows(&self) -> usize {
        self.rows.len()
    }

    /// Decodes every complete row in `data` (plus what was pending).
    pub fn feed(&mut self, data: &[u8]) -> Result<()> {
        if self.done {
            return Ok(());
        }
        self.pending.extend_from_slice(data);
        let pending = std::mem::take(&mut self.pending);
        let mut at = 0;
        let result = self.decode(&pending, &mut at);
        self.pending = pending[at..].to_vec();
        result
    }

    /// The input has ended: it must have ended with the trailer.
    pub fn finish(&mut self) -> Result<()> {
        if self.done {
            return Ok(());
        }
        Err(bad(format!(
            "COPY binary data ended without its end marker (after row {})",
            self.row
        )))
    }

    pub fn take(&mut self) -> ParsedRows {
        let count = self.rows.len();
        ParsedRows {
            columns: self
                .builders
                .iter_mut()
                .map(|b| b.finish().slice(0, count))
                .collect(),
            lines: std::mem::take(&mut self.rows),
        }
    }

    /// Decodes from `bytes[*at..]`, advancing `at` past what was consumed: the header,
    /// then whole rows; stops at an incomplete one.
    fn decode(&mut self, bytes: &[u8], at: &mut usize) -> Result<()> {
        if !self.header_read {
            if bytes.len() < SIGNATURE.len() + 8 {
                return Ok(());
            }
            if &bytes[..SIGNATURE.len()] != SIGNATURE {
                return Err(bad("COPY file signature not recognized".into()));
            }
            let flags = i32::from_be_bytes(bytes[11..15].try_into().expect("4 bytes"));
            if flags & (1 << 16) != 0 {
                return Err(Error::Unsupported("COPY binary data with OIDs".into()));
            }
            let extension = i32::from_be_bytes(bytes[15..19].try_into().expect("4 bytes"));
            let extension = usize::try_from(extension)
                .map_err(|_| bad("invalid COPY file header (negative extension length)".into()))?;
            if bytes.len() < 19 + extension {
                return Ok(());
            }
            *at = 19 + extension;
            self.header_read = true;
        }
        while let Some((fields, end)) = self.row_at(bytes, *at)? {
            let Some(fields) = fields else {
                self.done = true;
                *at = end;
                return Ok(());
            };
            self.row += 1;
            for (column, value) in fields.into_iter().enumerate() {
                let builder = &mut self.builders[column];
                match value {
                    None => builder.append_null(),
                    Some(bytes) => {
                        let text = text_of(&self.types[column], bytes).map_err(|e| {
                            bad(format!(
                                "invalid binary value in row {}, column {}: {e}",
                                self.row,
                                column + 1
                            ))
                        })?;
                        builder.append_value(text);
                    }
                }
            }
            self.rows.push(self.row);
            *at = end;
        }
        Ok(())
    }

    /// The row starting at `start` if it is complete: its fields (None for the end
    /// marker) and where it ends.
    #[allow(clippy::type_complexity)]
    fn row_at<'b>(
        &self,
        bytes: &'b [u8],
        start: usize,
    ) -> Result<Option<(Option<Vec<Option<&'b [u8]>>>, usize)>> {
        let Some(count) = bytes.get(start..start + 2) else {
            return Ok(None);
        };
        let count = i16::from_be_bytes(count.try_into().expect("2 bytes"));
        if count == -1 {
            return Ok(Some((None, start + 2)));
        }
        if count as usize != self.types.len() {
            return Err(bad(format!(
                "row {} has {count} fields, expected {}",
                self.row + 1,
                self.types.len()
            )));
        }
        let mut at = start + 2;
        let mut fields = Vec::with_capacity(self.types.len());
        for _ in 0..count {
            let Some(length) = bytes.get(at..at + 4) else {
                return Ok(None);
            };
            let length = i32::from_be_bytes(length.try_into().expect("4 bytes"));
            at += 4;
            if length == -1 {
                fields.push(None);
                continue;
            }
            let length = usize::try_from(length)
                .map_err(|_| bad(format!("row {} has a negative field length", self.row + 1)))?;
            let Some(value) = bytes.get(at..at + length) else {
                return Ok(None);
            };
            fields.push(Some(value));
            at += length;
        }
        Ok(Some((Some(fields), at)))
    }
}

type DecodeResult = std::result::Result<String, Box<dyn std::error::Error + Sync + Send>>;

/// A binary value of a column of this type as PostgreSQL's text input would read it.
fn text_of(column_type: &ColumnType, bytes: &[u8]) -> DecodeResult {
    Ok(match column_type {
        ColumnType::SmallInt => i16::from_sql(&Type::INT2, bytes)?.to_string(),
        ColumnType::Integer => i32::from_sql(&Type::INT4, bytes)?.to_string(),
        ColumnType::BigInt => i64::from_sql(&Type::INT8, bytes)?.to_string(),
        ColumnType::Real => float_text(f64::from(f32::from_sql(&Type::FLOAT4, bytes)?)),
        ColumnType::Double => float_text(f64::from_sql(&Type::FLOAT8, bytes)?),
        ColumnType::Numeric { .. } => {
            rust_decimal::Decimal::from_sql(&Type::NUMERIC, bytes)?.to_string()
        }
        ColumnType::Text | ColumnType::Varchar { .. } => String::from_sql(&Type::TEXT, bytes)?,
        ColumnType::Boolean => match bool::from_sql(&Type::BOOL, bytes)? {
            true => "t".into(),
            false => "f".into(),
        },
        ColumnType::Date => NaiveDate::from_sql(&Type::DATE, bytes)?
            .format("%Y-%m-%d")
            .to_string(),
        ColumnType::Timestamp => NaiveDateTime::from_sql(&Type::TIMESTAMP, bytes)?
            .format("%Y-%m-%d %H:%M:%S%.f")
            .to_string(),
        ColumnType::TimestampTz => DateTime::<Utc>::from_sql(&Type::TIMESTAMPTZ, bytes)?
            .format("%Y-%m-%d %H:%M:%S%.f+00")
            .to_string(),
        ColumnType::Bytea => {
            let mut text = String::with_capacity(2 + bytes.len() * 2);
            text.push_str("\\x");
            for byte in bytes {
                text.push_str(&format!("{byte:02x}"));
            }
            text
        }
    })
}

fn float_text(value: f64) -> String {
    match value {
        v if v.is_nan() => "NaN".into(),
        v if v == f64::INFINITY => "Infinity".into(),
        v if v == f64::NEG_INFINITY => "-Infinity".into(),
        v => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;

    fn data(rows: &[Vec<Option<Vec<u8>>>]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        for row in rows {
            out.extend_from_slice(&(row.len() as i16).to_be_bytes());
            for field in row {
                match field {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(bytes) => {
                        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                        out.extend_from_slice(bytes);
                    }
                }
            }
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    #[test]
    fn rows_decode_across_chunks_and_need_the_end_marker() {
        let rows = vec![
            vec![
                Some(7i64.to_be_bytes().to_vec()),
                Some(b"tab\there".to_vec()),
            ],
            vec![None, Some(Vec::new())],
        ];
        let bytes = data(&rows);
        let mut parser = BinaryParser::new(vec![ColumnType::BigInt, ColumnType::Text]);
        for chunk in bytes.chunks(5) {
            parser.feed(chunk).unwrap();
        }
        parser.finish().unwrap();
        let parsed = parser.take();
        assert_eq!(parsed.lines, vec![1, 2]);
        assert_eq!(parsed.columns[0].value(0), "7");
        assert!(parsed.columns[0].is_null(1));
        assert_eq!(parsed.columns[1].value(0), "tab\there");
        assert_eq!(parsed.columns[1].value(1), "");

        let mut cut = BinaryParser::new(vec![ColumnType::BigInt, ColumnType::Text]);
        cut.feed(&bytes[..bytes.len() - 2]).unwrap();
        assert!(cut.finish().is_err(), "no end marker");
        let mut wrong = BinaryParser::new(vec![ColumnType::BigInt]);
        assert!(wrong.feed(&bytes).is_err(), "two fields for one column");
        assert!(BinaryParser::new(vec![])
            .feed(b"NOTPGCOPY\n\0\0\0\0\0\0\0\0\0\0")
            .is_err());
    }
}
