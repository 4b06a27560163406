//! COPY's options (`CopyFormat`) and the text forms of values COPY and parameters share.
//!
//! A COPY … FROM STDIN flows through three files: `copy_parse.rs` splits the bytes into
//! string columns, `copy_convert.rs` turns those into typed columns, and `copy_in.rs`
//! runs the two as a pipeline into a `TableWriter`.

use datafusion::sql::sqlparser::ast::{CopyLegacyCsvOption, CopyLegacyOption, CopyOption};

use crate::error::{Error, Result};

/// Rows parsed before they are handed on to be converted and written as one batch.
pub const BATCH_ROWS: usize = 32 * 1024;

#[derive(Debug, Clone)]
pub struct CopyFormat {
    pub csv: bool,
    /// PostgreSQL's binary COPY format (only for COPY TO so far).
    pub binary: bool,
    pub delimiter: u8,
    pub null: String,
    pub header: bool,
    pub quote: u8,
    pub escape: u8,
}

impl CopyFormat {
    pub fn from_options(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> Result<CopyFormat> {
        let mut csv = false;
        let mut binary = false;
        let (mut delimiter, mut null, mut header, mut quote, mut escape) =
            (None, None, false, None, None);
        for option in options {
            match option {
                CopyOption::Format(name) => match name.value.to_lowercase().as_str() {
                    "csv" => csv = true,
                    "text" => csv = false,
                    "binary" => binary = true,
                    other => {
                        return Err(Error::Unsupported(format!(
                            "COPY format \"{other}\" is not recognized; use text, csv or binary"
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
                CopyLegacyOption::Csv(csv_options) => {
                    csv = true;
                    for option in csv_options {
                        match option {
                            CopyLegacyCsvOption::Header => header = true,
                            CopyLegacyCsvOption::Quote(c) => quote = Some(*c),
                            CopyLegacyCsvOption::Escape(c) => escape = Some(*c),
                            other => {
                                return Err(Error::Unsupported(format!(
                                    "COPY option {other} is not supported"
                                )))
                            }
                        }
                    }
                }
                CopyLegacyOption::Delimiter(c) => delimiter = Some(*c),
                CopyLegacyOption::Null(s) => null = Some(s.clone()),
                CopyLegacyOption::Header => header = true,
                CopyLegacyOption::Binary => binary = true,
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
            binary,
            delimiter,
            null: null.unwrap_or_else(|| if csv { String::new() } else { "\\N".into() }),
            header,
            quote,
            escape,
        })
    }
}

/// PostgreSQL prints offsets as `+00`; Arrow wants `+00:00`.
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
