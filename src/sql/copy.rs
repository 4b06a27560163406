//! COPY … FROM STDIN: parsing the text and CSV formats as the data streams in, and
//! turning fields into typed columns.
//!
//! The parser keeps at most one incomplete record between `CopyData` messages, and the
//! caller drains parsed rows every `BATCH_ROWS` rows into a `TableWriter`, so memory
//! stays bounded however long the input. Errors name the line, as PostgreSQL's do:
//! structural problems (missing or extra columns, an unterminated quote) are
//! `BadCopyFile` (22P04), values that do not fit their type are `InvalidValue` (22P02).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BinaryBuilder, StringArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::DataType;
use datafusion::sql::sqlparser::ast::{CopyLegacyOption, CopyOption};

use crate::catalog::{ColumnDef, ColumnType};
use crate::error::{Error, Result};

/// Rows parsed before they are converted into a record batch.
pub const BATCH_ROWS: usize = 8192;

#[derive(Debug, Clone)]
pub struct CopyFormat {
    pub csv: bool,
    pub delimiter: u8,
    pub null: String,
    pub header: bool,
    pub quote: u8,
    pub escape: u8,
}

impl CopyFormat {
    pub fn from_options(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> Result<CopyFormat> {
        let mut csv = false;
        let (mut delimiter, mut null, mut header, mut quote, mut escape) =
            (None, None, false, None, None);
        for option in options {
            match option {
                CopyOption::Format(name) => match name.value.to_lowercase().as_str() {
                    "csv" => csv = true,
                    "text" => csv = false,
                    other => {
                        return Err(Error::Unsupported(format!(
                            "COPY format \"{other}\" is not supported; use text or csv"
                        )))
                    }
                },
                CopyOption::Delimiter(c) => delimiter = Some(*c),
                CopyOption::Null(s) => null = Some(s.clone()),
                CopyOption::Header(h) => header = *h,
                CopyOption::Quote(c) => quote = Some(*c),
                CopyOption::Escape(c) => escape = Some(*c),
                CopyOption::Encoding(e)
                    if e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8") => {}
                other => {
                    return Err(Error::Unsupported(format!(
                        "COPY option {other} is not supported"
                    )))
                }
            }
        }
        for option in legacy {
            match option {
                CopyLegacyOption::Csv(_) => csv = true,
                CopyLegacyOption::Delimiter(c) => delimiter = Some(*c),
                CopyLegacyOption::Null(s) => null = Some(s.clone()),
                CopyLegacyOption::Header => header = true,
                other => {
                    return Err(Error::Unsupported(format!(
                        "COPY option {other} is not supported"
                    )))
                }
            }
        }
        let ascii = |c: char, what: &str| -> Result<u8> {
            if c.is_ascii() {
                Ok(c as u8)
            } else {
                Err(Error::InvalidInput(format!(
                    "COPY {what} must be a single one-byte character"
                )))
            }
        };
        let delimiter = ascii(
            delimiter.unwrap_or(if csv { ',' } else { '\t' }),
            "delimiter",
        )?;
        let quote = ascii(quote.unwrap_or('"'), "quote")?;
        let escape = ascii(escape.unwrap_or(quote as char), "escape")?;
        if delimiter == b'\n' || delimiter == b'\r' || (!csv && delimiter == b'\\') {
            return Err(Error::InvalidInput(
                "COPY delimiter cannot be newline, carriage return or backslash".into(),
            ));
        }
        Ok(CopyFormat {
            csv,
            delimiter,
            null: null.unwrap_or_else(|| if csv { String::new() } else { "\\N".into() }),
            header,
            quote,
            escape,
        })
    }
}

/// Incremental parser: feed it `CopyData` payloads, take rows out.
pub struct CopyParser {
    format: CopyFormat,
    columns: Vec<String>,
    pending: Vec<u8>,
    /// Lines consumed so far (the next record starts on line `line + 1`).
    line: u64,
    header_pending: bool,
    done: bool,
    fields: Vec<Vec<Option<String>>>,
    lines: Vec<u64>,
}

impl CopyParser {
    /// `columns` are the names of the columns the input holds, in order.
    pub fn new(format: CopyFormat, columns: Vec<String>) -> CopyParser {
        let fields = vec![Vec::new(); columns.len()];
        CopyParser {
            header_pending: format.header,
            format,
            columns,
            pending: Vec::new(),
            line: 0,
            done: false,
            fields,
            lines: Vec::new(),
        }
    }

    pub fn buffered_rows(&self) -> usize {
        self.lines.len()
    }

    /// Parses every complete record in `data` (plus what was pending).
    pub fn feed(&mut self, data: &[u8]) -> Result<()> {
        if self.done {
            return Ok(());
        }
        self.pending.extend_from_slice(data);
        let mut start = 0;
        while let Some(end) = self.record_end(start) {
            let record = self.pending[start..end].to_vec();
            start = end + 1;
            self.record(&record)?;
            if self.done {
                break;
            }
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Parses the last record if the input did not end with a newline.
    pub fn finish(&mut self) -> Result<()> {
        if !self.done && !self.pending.is_empty() {
            if self.format.csv && self.in_quotes_at_end() {
                return Err(Error::BadCopyFile(format!(
                    "unterminated CSV quoted field (line {})",
                    self.line + 1
                )));
            }
            let record = std::mem::take(&mut self.pending);
            self.record(&record)?;
        }
        Ok(())
    }

    /// Takes the parsed rows: one vector of fields per column, and each row's line.
    pub fn take(&mut self) -> (Vec<Vec<Option<String>>>, Vec<u64>) {
        let fields = self.fields.iter_mut().map(std::mem::take).collect();
        (fields, std::mem::take(&mut self.lines))
    }

    /// Index of the newline ending the record that starts at `start`, if complete.
    fn record_end(&self, start: usize) -> Option<usize> {
        let bytes = &self.pending[start..];
        if !self.format.csv {
            return bytes.iter().position(|b| *b == b'\n').map(|p| start + p);
        }
        let (quote, escape) = (self.format.quote, self.format.escape);
        let mut in_quotes = false;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if in_quotes && b == escape && escape != quote && bytes.get(i + 1).is_some() {
                i += 2;
                continue;
            }
            if b == quote {
                in_quotes = !in_quotes;
            } else if b == b'\n' && !in_quotes {
                return Some(start + i);
            }
            i += 1;
        }
        None
    }

    fn in_quotes_at_end(&self) -> bool {
        self.pending
            .iter()
            .filter(|b| **b == self.format.quote)
            .count()
            % 2
            == 1
    }

    fn record(&mut self, raw: &[u8]) -> Result<()> {
        let line = self.line + 1;
        self.line += 1 + raw.iter().filter(|b| **b == b'\n').count() as u64;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw == b"\\." {
            self.done = true;
            return Ok(());
        }
        if self.header_pending {
            self.header_pending = false;
            return Ok(());
        }
        let text = std::str::from_utf8(raw)
            .map_err(|_| Error::BadCopyFile(format!("invalid UTF-8 in COPY data (line {line})")))?;
        let fields = if self.format.csv {
            self.csv_fields(text, line)?
        } else {
            self.text_fields(text, line)?
        };
        if fields.len() < self.columns.len() {
            return Err(Error::BadCopyFile(format!(
                "missing data for column \"{}\" (line {line})",
                self.columns[fields.len()]
            )));
        }
        if fields.len() > self.columns.len() {
            return Err(Error::BadCopyFile(format!(
                "extra data after last expected column (line {line})"
            )));
        }
        for (column, field) in self.fields.iter_mut().zip(fields) {
            column.push(field);
        }
        self.lines.push(line);
        Ok(())
    }

    fn text_fields(&self, text: &str, line: u64) -> Result<Vec<Option<String>>> {
        if text.is_empty() && self.columns.len() == 1 {
            return Ok(vec![Some(String::new())]);
        }
        text.split(self.format.delimiter as char)
            .map(|raw| {
                if raw == self.format.null {
                    Ok(None)
                } else {
                    unescape_text(raw)
                        .map(Some)
                        .map_err(|msg| Error::BadCopyFile(format!("{msg} (line {line})")))
                }
            })
            .collect()
    }

    fn csv_fields(&self, text: &str, line: u64) -> Result<Vec<Option<String>>> {
        let CopyFormat {
            delimiter,
            quote,
            escape,
            ..
        } = self.format;
        let (delimiter, quote, escape) = (delimiter as char, quote as char, escape as char);
        let mut fields = Vec::new();
        let mut chars = text.chars().peekable();
        {
            let mut value = String::new();
            let mut quoted = false;
            let mut in_quotes = false;
            loop {
                match chars.next() {
                    None => break,
                    Some(c) if in_quotes => {
                        let next = chars.peek().copied();
                        let escapes_next = c == escape
                            && (next == Some(quote) || (escape != quote && next == Some(escape)));
                        if escapes_next {
                            value.push(chars.next().expect("peeked"));
                        } else if c == quote {
                            in_quotes = false;
                        } else {
                            value.push(c);
                        }
                    }
                    Some(c) if c == quote => {
                        quoted = true;
                        in_quotes = true;
                    }
                    Some(c) if c == delimiter => {
                        fields.push(csv_value(value, quoted, &self.format.null));
                        value = String::new();
                        quoted = false;
                        continue;
                    }
                    Some(c) => value.push(c),
                }
            }
            if in_quotes {
                return Err(Error::BadCopyFile(format!(
                    "unterminated CSV quoted field (line {line})"
                )));
            }
            fields.push(csv_value(value, quoted, &self.format.null));
        }
        Ok(fields)
    }
}

fn csv_value(value: String, quoted: bool, null: &str) -> Option<String> {
    if !quoted && value == null {
        None
    } else {
        Some(value)
    }
}

/// Decodes the backslash escapes of COPY's text format.
fn unescape_text(raw: &str) -> std::result::Result<String, String> {
    if !raw.contains('\\') {
        return Ok(raw.to_string());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let c = bytes[i + 1];
        i += 2;
        match c {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut value = (c - b'0') as u32;
                let mut digits = 1;
                while digits < 3 && i < bytes.len() && (b'0'..=b'7').contains(&bytes[i]) {
                    value = value * 8 + (bytes[i] - b'0') as u32;
                    i += 1;
                    digits += 1;
                }
                out.push(value as u8);
            }
            b'x' if i < bytes.len() && bytes[i].is_ascii_hexdigit() => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2 && i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                    value = value * 16 + (bytes[i] as char).to_digit(16).expect("hex digit");
                    i += 1;
                    digits += 1;
                }
                out.push(value as u8);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).map_err(|_| "invalid byte sequence for encoding \"UTF8\"".to_string())
}

/// Converts one column of text fields to the column's type. On a bad value, the error
/// names the value, the column and the line.
pub fn convert_column(
    column: &ColumnDef,
    fields: Vec<Option<String>>,
    lines: &[u64],
    table: &str,
) -> Result<ArrayRef> {
    if column.column_type == ColumnType::Bytea {
        let mut builder = BinaryBuilder::new();
        for (field, line) in fields.iter().zip(lines) {
            match field {
                None => builder.append_null(),
                Some(text) => builder.append_value(parse_bytea(text).map_err(|msg| {
                    Error::InvalidValue(format!(
                        "{msg} (COPY {table}, line {line}, column {})",
                        column.name
                    ))
                })?),
            }
        }
        return Ok(Arc::new(builder.finish()));
    }
    let target = column.column_type.to_arrow();
    let strings = StringArray::from(fields);
    let strings: ArrayRef = match column.column_type {
        ColumnType::TimestampTz => Arc::new(normalize_offsets(&strings)),
        _ => Arc::new(strings),
    };
    if target == DataType::Utf8 {
        return Ok(strings);
    }
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    match cast_with_options(&strings, &target, &options) {
        Ok(array) => Ok(array),
        Err(_) => {
            // Find the first value that does not convert, to name it and its line.
            let strings = strings
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("strings");
            for (i, line) in lines.iter().enumerate() {
                if strings.is_null(i) {
                    continue;
                }
                let one = strings.slice(i, 1);
                if cast_with_options(&one, &target, &options).is_err() {
                    return Err(Error::InvalidValue(format!(
                        "invalid input syntax for type {}: \"{}\" (COPY {table}, line {line}, column {})",
                        column.column_type.sql_name(),
                        strings.value(i),
                        column.name
                    )));
                }
            }
            Err(Error::InvalidValue(format!(
                "invalid value in column \"{}\"",
                column.name
            )))
        }
    }
}

/// PostgreSQL prints offsets as `+00`; Arrow wants `+00:00`.
fn normalize_offsets(strings: &StringArray) -> StringArray {
    strings
        .iter()
        .map(|value| value.map(normalize_offset))
        .collect()
}

pub fn normalize_offset(value: &str) -> String {
    let bytes = value.as_bytes();
    let n = bytes.len();
    if n > 3
        && (bytes[n - 3] == b'+' || bytes[n - 3] == b'-')
        && bytes[n - 2..].iter().all(u8::is_ascii_digit)
    {
        format!("{value}:00")
    } else {
        value.to_string()
    }
}

/// bytea input: `\x` followed by hex digits, or the raw text's bytes.
pub fn parse_bytea(text: &str) -> std::result::Result<Vec<u8>, String> {
    let Some(hex) = text.strip_prefix("\\x") else {
        return Ok(text.as_bytes().to_vec());
    };
    if hex.len() % 2 != 0 {
        return Err(format!(
            "invalid hexadecimal data: odd number of digits in \"{text}\""
        ));
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&hex[i..i + 2], 16)
                .map_err(|_| format!("invalid hexadecimal digit in \"{text}\""))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(
        format: CopyFormat,
        ncols: usize,
        chunks: &[&str],
    ) -> Result<Vec<Vec<Option<String>>>> {
        let columns = (0..ncols).map(|i| format!("c{i}")).collect();
        let mut parser = CopyParser::new(format, columns);
        for chunk in chunks {
            parser.feed(chunk.as_bytes())?;
        }
        parser.finish()?;
        Ok(parser.take().0)
    }

    fn text() -> CopyFormat {
        CopyFormat::from_options(&[], &[]).unwrap()
    }

    fn csv() -> CopyFormat {
        CopyFormat {
            csv: true,
            delimiter: b',',
            null: String::new(),
            header: false,
            quote: b'"',
            escape: b'"',
        }
    }

    #[test]
    fn text_format_with_escapes_nulls_and_split_chunks() {
        let cols = parse(text(), 2, &["1\ta\\tb\n2\t\\", "N\n3\tlast"]).unwrap();
        assert_eq!(
            cols[0],
            vec![Some("1".into()), Some("2".into()), Some("3".into())]
        );
        assert_eq!(
            cols[1],
            vec![Some("a\tb".into()), None, Some("last".into())]
        );
    }

    #[test]
    fn csv_quotes_newlines_and_empty_strings() {
        let cols = parse(csv(), 2, &["1,\"x,\"\"y\"\"\nz\"\n2,\n3,\"\"\n"]).unwrap();
        assert_eq!(
            cols[1],
            vec![Some("x,\"y\"\nz".into()), None, Some(String::new())]
        );
    }

    #[test]
    fn wrong_column_counts_name_the_line() {
        let err = parse(text(), 2, &["1\ta\n2\n"]).unwrap_err();
        assert!(matches!(err, Error::BadCopyFile(_)));
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = parse(csv(), 1, &["1\n2,3\n"]).unwrap_err();
        assert!(err.to_string().contains("extra data") && err.to_string().contains("line 2"));
    }

    #[test]
    fn end_marker_stops_parsing() {
        let cols = parse(text(), 1, &["1\n\\.\ngarbage\n"]).unwrap();
        assert_eq!(cols[0], vec![Some("1".into())]);
    }
}
