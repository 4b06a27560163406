//! Session settings for SET and SHOW. Names are case-insensitive. The defaults are what
//! drivers check at connect time; values are stored and reported, and the ones that
//! change how Grizzly behaves are listed in `docs/architecture.md` (today
//! `statement_timeout`, `idle_session_timeout`, and `datafusion.*`, which go to DataFusion's own configuration).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::{Error, Result};

/// (name as PostgreSQL spells it, default value).
const DEFAULTS: &[(&str, &str)] = &[
    ("application_name", ""),
    ("client_encoding", "UTF8"),
    ("client_min_messages", "notice"),
    ("DateStyle", "ISO, MDY"),
    ("default_transaction_isolation", "read committed"),
    ("default_transaction_read_only", "off"),
    ("extra_float_digits", "1"),
    ("idle_in_transaction_session_timeout", "0"),
    ("idle_session_timeout", "0"),
    ("integer_datetimes", "on"),
    ("lc_collate", "C"),
    ("lc_ctype", "C"),
    ("IntervalStyle", "postgres"),
    ("lc_messages", "C"),
    ("lock_timeout", "0"),
    ("max_identifier_length", "63"),
    ("search_path", "\"$user\", public"),
    ("server_encoding", "UTF8"),
    ("server_version", crate::PG_SERVER_VERSION),
    ("server_version_num", crate::PG_SERVER_VERSION_NUM),
    ("standard_conforming_strings", "on"),
    ("statement_timeout", "0"),
    ("TimeZone", "UTC"),
    ("transaction_isolation", "read committed"),
    ("transaction_read_only", "off"),
];

#[derive(Debug, Clone)]
pub struct Settings {
    /// lower-case name -> (display name, value)
    values: BTreeMap<String, (String, String)>,
}

impl Default for Settings {
    fn default() -> Self {
        let values = DEFAULTS
            .iter()
            .map(|(name, value)| (name.to_lowercase(), (name.to_string(), value.to_string())))
            .collect();
        Settings { values }
    }
}

impl Settings {
    pub fn get(&self, name: &str) -> Option<(&str, &str)> {
        self.values
            .get(&name.to_lowercase())
            .map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Sets a value; the settings Grizzly acts on are checked and shown as PostgreSQL
    /// shows them (`statement_timeout = 5000` reads back as `5s`).
    pub fn set(&mut self, name: &str, value: String) -> Result<()> {
        let key = name.to_lowercase();
        let value = match key.as_str() {
            "statement_timeout" | "idle_session_timeout" => {
                show_milliseconds(parse_milliseconds(name, &value)?)
            }
            _ => value,
        };
        let display = self
            .values
            .get(&key)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| key.clone());
        self.values.insert(key, (display, value));
        Ok(())
    }

    /// How long a statement may run before it is cancelled; None for no limit.
    pub fn statement_timeout(&self) -> Option<Duration> {
        self.duration("statement_timeout")
    }

    /// How long the session may stay idle before its connection is closed; None for
    /// the server's `--idle-timeout`.
    pub fn idle_session_timeout(&self) -> Option<Duration> {
        self.duration("idle_session_timeout")
    }

    fn duration(&self, name: &str) -> Option<Duration> {
        let (name, value) = self.get(name)?;
        match parse_milliseconds(name, value) {
            Ok(0) | Err(_) => None,
            Ok(ms) => Some(Duration::from_millis(ms)),
        }
    }

    /// Sets a value the session reports but Grizzly does not act on (the session's user).
    pub fn set_reported(&mut self, name: &str, value: &str) {
        self.values
            .insert(name.to_lowercase(), (name.to_string(), value.to_string()));
    }

    /// Back to the default (or forgotten, for a name without one).
    pub fn reset(&mut self, name: &str) {
        let key = name.to_lowercase();
        match DEFAULTS.iter().find(|(n, _)| n.to_lowercase() == key) {
            Some((n, v)) => {
                self.values.insert(key, (n.to_string(), v.to_string()));
            }
            None => {
                self.values.remove(&key);
            }
        }
    }

    pub fn all(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.values().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// Units a time setting may be given in, largest first, in milliseconds.
const TIME_UNITS: &[(&str, u64)] = &[
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("min", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// A time setting: milliseconds as a bare number, or a number with a unit (`'5s'`,
/// `'2min'`), as PostgreSQL reads it.
fn parse_milliseconds(name: &str, value: &str) -> Result<u64> {
    let text = value.trim().trim_matches('\'');
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim());
    let scale = match unit {
        "" => Some(1),
        unit => TIME_UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, ms)| *ms),
    };
    match (number.parse::<f64>(), scale) {
        (Ok(number), Some(scale)) if number * scale as f64 <= i32::MAX as f64 => {
            Ok((number * scale as f64).round() as u64)
        }
        _ => Err(Error::InvalidInput(format!(
            "invalid value for parameter \"{name}\": \"{value}\"; give milliseconds or a \
             number with a unit (ms, s, min, h, d), up to 2147483647 ms"
        ))),
    }
}

/// Milliseconds in the largest unit that shows them exactly, as SHOW prints them.
fn show_milliseconds(ms: u64) -> String {
    if ms == 0 {
        return "0".into();
    }
    let (unit, size) = TIME_UNITS
        .iter()
        .find(|(_, size)| ms.is_multiple_of(*size))
        .expect("every whole number of milliseconds is whole in ms");
    format!("{}{unit}", ms / size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_timeout_reads_units_and_shows_the_largest_exact_one() {
        let mut settings = Settings::default();
        assert_eq!(settings.statement_timeout(), None);
        for (given, shown, ms) in [
            ("5000", "5s", 5000),
            ("'1500ms'", "1500ms", 1500),
            ("'2min'", "2min", 120_000),
            ("'1.5s'", "1500ms", 1500),
        ] {
            settings.set("statement_timeout", given.into()).unwrap();
            assert_eq!(settings.get("statement_timeout").unwrap().1, shown);
            assert_eq!(
                settings.statement_timeout(),
                Some(Duration::from_millis(ms))
            );
        }
        settings.set("statement_timeout", "0".into()).unwrap();
        assert_eq!(settings.statement_timeout(), None);
        for bad in ["abc", "5 years", "-1", "9999999999"] {
            assert!(
                settings.set("statement_timeout", bad.into()).is_err(),
                "{bad}"
            );
        }
    }
}
