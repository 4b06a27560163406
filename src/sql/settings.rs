//! Session settings for SET and SHOW. Names are case-insensitive. The defaults are what
//! drivers check at connect time; values are stored and reported, and the ones that
//! change how Grizzly behaves are listed in `docs/architecture.md` (today: none but
//! `datafusion.*`, which go to DataFusion's own configuration).

use std::collections::BTreeMap;

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
    ("integer_datetimes", "on"),
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

    pub fn set(&mut self, name: &str, value: String) {
        let key = name.to_lowercase();
        let display = self
            .values
            .get(&key)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| key.clone());
        self.values.insert(key, (display, value));
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
