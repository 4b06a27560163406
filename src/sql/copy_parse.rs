//! The COPY parser: text and CSV bytes in, one Arrow string column per input column out.
//!
//! It works on bytes and allocates nothing per row: `feed` appends each `CopyData`
//! payload to `pending`, finds every complete record in it (a newline outside CSV
//! quotes), and appends each field straight into its column's `StringBuilder`. Fields
//! are sliced out of the input with memchr; only a field with escapes (text) or quotes
//! (CSV) is rebuilt in a scratch buffer. At most one incomplete record stays in
//! `pending` between payloads, and the caller takes the parsed rows every batch, so
//! memory stays bounded however long the input.
//!
//! Errors name the line, as PostgreSQL's do: structural problems (missing or extra
//! columns, an unterminated quote, invalid UTF-8) are `BadCopyFile` (22P04). Turning the
//! strings into typed values is `copy_convert.rs`'s job.

use arrow::array::{StringArray, StringBuilder};
use memchr::{memchr, memchr2};

use super::copy::CopyFormat;
use crate::error::{Error, Result};

/// Parsed rows: one string column per input column (NULL where the input had the null
/// string), and the input line each row started on, for error messages.
pub struct ParsedRows {
    pub columns: Vec<StringArray>,
    pub lines: Vec<u64>,
}

pub struct CopyParser {
    format: CopyFormat,
    columns: Vec<String>,
    pending: Vec<u8>,
    /// Where the scan for the end of the incomplete record in `pending` stopped, and
    /// whether it stopped inside CSV quotes, so a long record is scanned only once.
    scanned: usize,
    scan_in_quotes: bool,
    /// Lines consumed so far (the next record starts on line `line + 1`).
    line: u64,
    header_pending: bool,
    done: bool,
    builders: Vec<StringBuilder>,
    lines: Vec<u64>,
    scratch: Vec<u8>,
}

impl CopyParser {
    /// `columns` are the names of the columns the input holds, in order.
    pub fn new(format: CopyFormat, columns: Vec<String>) -> CopyParser {
        let builders = columns.iter().map(|_| StringBuilder::new()).collect();
        CopyParser {
            header_pending: format.header,
            format,
            columns,
            pending: Vec::new(),
            scanned: 0,
            scan_in_quotes: false,
            line: 0,
            done: false,
            builders,
            lines: Vec::new(),
            scratch: Vec::new(),
        }
    }

    pub fn buffered_rows(&self) -> usize {
        self.lines.len()
    }

    /// Parses every complete record in `data` (plus what was pending). On an error, the
    /// rows parsed before the bad record can still be taken.
    pub fn feed(&mut self, data: &[u8]) -> Result<()> {
        if self.done {
            return Ok(());
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(data);
        let mut start = 0;
        let mut result = Ok(());
        while let Some(end) = self.record_end(&pending, start) {
            result = self.record(&pending[start..end]);
            start = end + 1;
            if result.is_err() || self.done {
                break;
            }
        }
        pending.drain(..start);
        self.pending = pending;
        result
    }

    /// Parses the last record if the input did not end with a newline.
    pub fn finish(&mut self) -> Result<()> {
        if self.done || self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        if self.record_end(&pending, 0).is_none() && self.scan_in_quotes {
            return Err(Error::BadCopyFile(format!(
                "unterminated CSV quoted field (line {})",
                self.line + 1
            )));
        }
        self.record(&pending)
    }

    /// Takes the rows parsed so far.
    pub fn take(&mut self) -> ParsedRows {
        let rows = self.lines.len();
        ParsedRows {
            // A record that failed part-way left values in the first columns only;
            // `lines` counts complete records, so slicing to it drops them.
            columns: self
                .builders
                .iter_mut()
                .map(|b| b.finish().slice(0, rows))
                .collect(),
            lines: std::mem::take(&mut self.lines),
        }
    }

    /// Index of the newline ending the record that starts at `start`, if it is complete.
    /// Remembers how far it got otherwise.
    fn record_end(&mut self, bytes: &[u8], start: usize) -> Option<usize> {
        let from = start + self.scanned;
        let found = if self.format.csv {
            self.csv_record_end(bytes, from)
        } else {
            memchr(b'\n', &bytes[from..])
                .map(|p| from + p)
                .ok_or(bytes.len())
        };
        match found {
            Ok(end) => {
                self.scanned = 0;
                self.scan_in_quotes = false;
                Some(end)
            }
            Err(stopped) => {
                self.scanned = stopped - start;
                None
            }
        }
    }

    /// The newline ending a CSV record (one outside quotes), or where the scan stopped.
    fn csv_record_end(&mut self, bytes: &[u8], mut i: usize) -> std::result::Result<usize, usize> {
        let (quote, escape) = (self.format.quote, self.format.escape);
        loop {
            if !self.scan_in_quotes {
                let Some(p) = memchr2(b'\n', quote, &bytes[i..]) else {
                    return Err(bytes.len());
                };
                let j = i + p;
                if bytes[j] == b'\n' {
                    return Ok(j);
                }
                self.scan_in_quotes = true;
                i = j + 1;
                continue;
            }
            let found = if escape == quote {
                memchr(quote, &bytes[i..])
            } else {
                memchr2(quote, escape, &bytes[i..])
            };
            let Some(p) = found else {
                return Err(bytes.len());
            };
            let j = i + p;
            if bytes[j] == quote {
                self.scan_in_quotes = false;
                i = j + 1;
            } else if j + 1 < bytes.len() {
                i = j + 2; // an escape protects the byte after it
            } else {
                return Err(j); // look at this escape again when more data arrives
            }
        }
    }

    fn record(&mut self, raw: &[u8]) -> Result<()> {
        let line = self.line + 1;
        self.line += 1;
        // Quotes (CSV) or backslashes (text) need the careful path; most records have none.
        let special = if self.format.csv {
            memchr(self.format.quote, raw).is_some()
        } else {
            memchr(b'\\', raw).is_some()
        };
        if self.format.csv && special {
            self.line += memchr::memchr_iter(b'\n', raw).count() as u64;
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw == b"\\." {
            self.done = true;
            return Ok(());
        }
        if self.header_pending {
            self.header_pending = false;
            return Ok(());
        }
        // Validated once per record: fields split at ASCII bytes stay valid UTF-8.
        let text = std::str::from_utf8(raw).map_err(|_| invalid_utf8(line))?;
        let columns = if special {
            self.special_fields(text, line)?
        } else {
            self.plain_fields(text, line)?
        };
        if columns < self.columns.len() {
            // Columns before this one already got a value; the COPY fails as a whole.
            return Err(Error::BadCopyFile(format!(
                "missing data for column \"{}\" (line {line})",
                self.columns[columns]
            )));
        }
        self.lines.push(line);
        Ok(())
    }

    /// Splits a record without quotes or escapes: every field is a slice of it.
    /// Returns the number of fields.
    fn plain_fields(&mut self, text: &str, line: u64) -> Result<usize> {
        let delimiters = memchr::memchr_iter(self.format.delimiter, text.as_bytes());
        let mut start = 0;
        let mut column = 0;
        for end in delimiters.chain(std::iter::once(text.len())) {
            if column == self.columns.len() {
                return Err(extra_data(line));
            }
            let field = &text[start..end];
            self.push_unquoted(column, field);
            column += 1;
            start = end + 1;
        }
        Ok(column)
    }

    /// Appends a field as it stands in the input: NULL if it spells the null string.
    fn push_unquoted(&mut self, column: usize, field: &str) {
        if field == self.format.null {
            self.builders[column].append_null();
        } else {
            self.builders[column].append_value(field);
        }
    }

    /// Splits a record field by field, handling quotes (CSV) or escapes (text).
    /// Returns the number of fields.
    fn special_fields(&mut self, text: &str, line: u64) -> Result<usize> {
        let mut column = 0;
        let mut i = 0;
        loop {
            if column == self.columns.len() {
                return Err(extra_data(line));
            }
            let next = if self.format.csv {
                self.csv_field(text, i, column, line)?
            } else {
                self.text_field(text, i, column, line)?
            };
            column += 1;
            match next {
                Some(next) => i = next,
                None => return Ok(column),
            }
        }
    }

    /// Appends the text-format field starting at `start`; returns where the next one
    /// starts, or None at the end of the record.
    fn text_field(
        &mut self,
        text: &str,
        start: usize,
        column: usize,
        line: u64,
    ) -> Result<Option<usize>> {
        let raw = text.as_bytes();
        let delimiter = self.format.delimiter;
        let mut i = start;
        let mut escaped = false;
        let end = loop {
            match memchr2(delimiter, b'\\', &raw[i..]) {
                None => break raw.len(),
                Some(p) if raw[i + p] == b'\\' => {
                    escaped = true;
                    i = (i + p + 2).min(raw.len());
                }
                Some(p) => break i + p,
            }
        };
        let field = &text[start..end];
        if field == self.format.null {
            self.builders[column].append_null();
        } else if escaped {
            let mut scratch = std::mem::take(&mut self.scratch);
            unescape_text(field.as_bytes(), &mut scratch);
            let result = append(&mut self.builders[column], &scratch, line);
            self.scratch = scratch;
            result?;
        } else {
            self.builders[column].append_value(field);
        }
        Ok((end < raw.len()).then_some(end + 1))
    }

    /// Appends the CSV field starting at `start`; returns where the next one starts, or
    /// None at the end of the record.
    fn csv_field(
        &mut self,
        text: &str,
        start: usize,
        column: usize,
        line: u64,
    ) -> Result<Option<usize>> {
        let CopyFormat {
            delimiter,
            quote,
            escape,
            ..
        } = self.format;
        let raw = text.as_bytes();
        // An unquoted field in a record that has quotes elsewhere: a slice of the input.
        let plain_end = memchr2(delimiter, quote, &raw[start..]).map(|p| start + p);
        if plain_end.is_none_or(|end| raw[end] == delimiter) {
            let end = plain_end.unwrap_or(raw.len());
            let field = &text[start..end];
            self.push_unquoted(column, field);
            return Ok((end < raw.len()).then_some(end + 1));
        }
        // Quoted: quotes may open and close anywhere in the field, as in PostgreSQL.
        let mut value = std::mem::take(&mut self.scratch);
        value.clear();
        let mut in_quotes = false;
        let mut i = start;
        let end = loop {
            let Some(&b) = raw.get(i) else {
                if in_quotes {
                    self.scratch = value;
                    return Err(Error::BadCopyFile(format!(
                        "unterminated CSV quoted field (line {line})"
                    )));
                }
                break raw.len();
            };
            i += 1;
            if !in_quotes {
                match b {
                    _ if b == delimiter => break i - 1,
                    _ if b == quote => in_quotes = true,
                    _ => value.push(b),
                }
                continue;
            }
            let next = raw.get(i).copied();
            if b == escape && (next == Some(quote) || (escape != quote && next == Some(escape))) {
                value.push(next.expect("checked"));
                i += 1;
            } else if b == quote {
                in_quotes = false;
            } else {
                value.push(b);
            }
        };
        // A quoted value is never NULL, even if it spells the null string.
        let result = append(&mut self.builders[column], &value, line);
        self.scratch = value;
        result?;
        Ok((end < raw.len()).then_some(end + 1))
    }
}

/// Appends a rebuilt field (escapes may have produced any bytes).
fn append(builder: &mut StringBuilder, bytes: &[u8], line: u64) -> Result<()> {
    let text = std::str::from_utf8(bytes).map_err(|_| invalid_utf8(line))?;
    builder.append_value(text);
    Ok(())
}

fn invalid_utf8(line: u64) -> Error {
    Error::BadCopyFile(format!(
        "invalid byte sequence for encoding \"UTF8\" (line {line})"
    ))
}

fn extra_data(line: u64) -> Error {
    Error::BadCopyFile(format!(
        "extra data after last expected column (line {line})"
    ))
}

/// Decodes the backslash escapes of COPY's text format into `out`.
fn unescape_text(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'\\' || i + 1 == raw.len() {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let c = raw[i + 1];
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
                while digits < 3 && i < raw.len() && (b'0'..=b'7').contains(&raw[i]) {
                    value = value * 8 + (raw[i] - b'0') as u32;
                    i += 1;
                    digits += 1;
                }
                out.push(value as u8);
            }
            b'x' if i < raw.len() && raw[i].is_ascii_hexdigit() => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2 && i < raw.len() && raw[i].is_ascii_hexdigit() {
                    value = value * 16 + (raw[i] as char).to_digit(16).expect("hex digit");
                    i += 1;
                    digits += 1;
                }
                out.push(value as u8);
            }
            other => out.push(other),
        }
    }
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
        Ok(parser
            .take()
            .columns
            .iter()
            .map(|c| c.iter().map(|v| v.map(str::to_string)).collect())
            .collect())
    }

    fn text() -> CopyFormat {
        CopyFormat::from_options(&[], &[]).unwrap()
    }

    fn csv() -> CopyFormat {
        CopyFormat {
            csv: true,
            binary: false,
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
    fn text_format_escaped_delimiter_stays_in_the_field() {
        let cols = parse(text(), 2, &["a\\\tb\tc\n"]).unwrap();
        assert_eq!(cols[0], vec![Some("a\tb".into())]);
        assert_eq!(cols[1], vec![Some("c".into())]);
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
    fn csv_record_split_inside_quotes_across_chunks() {
        let cols = parse(csv(), 2, &["1,\"a,", "b\nc", "\"\n2,d\r\n"]).unwrap();
        assert_eq!(cols[1], vec![Some("a,b\nc".into()), Some("d".into())]);
    }

    #[test]
    fn csv_with_a_distinct_escape() {
        let format = CopyFormat {
            escape: b'\\',
            ..csv()
        };
        let cols = parse(format, 1, &["\"a\\\"b\\\\c\"\n"]).unwrap();
        assert_eq!(cols[0], vec![Some("a\"b\\c".into())]);
    }

    #[test]
    fn wrong_column_counts_name_the_line() {
        let err = parse(text(), 2, &["1\ta\n2\n"]).unwrap_err();
        assert!(matches!(err, Error::BadCopyFile(_)));
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = parse(csv(), 1, &["1\n2,3\n"]).unwrap_err();
        assert!(err.to_string().contains("extra data") && err.to_string().contains("line 2"));
        let err = parse(csv(), 1, &["1\n\"2\n"]).unwrap_err();
        assert!(err.to_string().contains("unterminated") && err.to_string().contains("line 2"));
    }

    #[test]
    fn line_numbers_count_newlines_inside_quotes() {
        let err = parse(csv(), 2, &["1,\"a\nb\"\n2\n"]).unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn end_marker_stops_parsing() {
        let cols = parse(text(), 1, &["1\n\\.\ngarbage\n"]).unwrap();
        assert_eq!(cols[0], vec![Some("1".into())]);
    }
}
