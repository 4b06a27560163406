//! Roles: who may log in, who is a superuser, and how each proves its password.
//!
//! Kept in `roles.json` in the data directory, rewritten whole on every change (new file,
//! fsync, rename, fsync of the directory), so a crash leaves the old set or the new one.
//! A role's password is never stored: only PostgreSQL's SCRAM-SHA-256 verifier
//! (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64 parts), the same
//! text `pg_authid.rolpassword` holds, and, for the `md5` method, `md5` + md5(password +
//! name). A client may send a verifier instead of a password (psql's `\password` does);
//! it is stored as given.
//!
//! File format: `{"next_oid", "roles": [{"name", "oid", "login", "superuser", "verifier",
//! "md5"}]}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use parking_lot::RwLock;
use pgwire::api::auth::sasl::scram::{gen_salted_password, ScramSecret};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// PostgreSQL's default SCRAM iteration count.
const ITERATIONS: usize = 4096;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    /// pg_authid's OID: 10 for the first (bootstrap) superuser, then 16384 and up in
    /// order of creation, never reused.
    #[serde(default)]
    pub oid: u32,
    pub login: bool,
    pub superuser: bool,
    /// The SCRAM-SHA-256 verifier; None: no password, so no password login.
    pub verifier: Option<String>,
    /// `md5` + md5(password + name), when the password was given in clear.
    #[serde(default)]
    pub md5: Option<String>,
}

impl Role {
    pub fn new(name: &str) -> Role {
        Role {
            name: name.to_string(),
            oid: 0,
            login: false,
            superuser: false,
            verifier: None,
            md5: None,
        }
    }

    /// Sets the password from its text: a SCRAM verifier is kept as it is, anything
    /// else is a password, hashed here. An empty password removes it, as in PostgreSQL.
    pub fn set_password(&mut self, password: Option<&str>) -> Result<()> {
        match password {
            None | Some("") => {
                self.verifier = None;
                self.md5 = None;
            }
            Some(text) if text.starts_with("SCRAM-SHA-256$") => {
                parse_verifier(text).ok_or_else(|| {
                    Error::InvalidInput("the SCRAM-SHA-256 password verifier is malformed".into())
                })?;
                self.verifier = Some(text.to_string());
                self.md5 = None;
            }
            Some(text) if text.len() == 35 && text.starts_with("md5") => {
                return Err(Error::Unsupported(
                    "MD5-hashed passwords are not accepted; give the password or a \
                     SCRAM-SHA-256 verifier"
                        .into(),
                ))
            }
            Some(password) => {
                self.verifier = Some(verifier(password));
                self.md5 = Some(format!(
                    "md5{:x}",
                    md5::compute(format!("{password}{}", self.name))
                ));
            }
        }
        Ok(())
    }

    /// The role's SCRAM secret, if it has a password.
    pub fn scram_secret(&self) -> Option<ScramSecret> {
        parse_verifier(self.verifier.as_deref()?)
    }

    /// Whether `password` is this role's password (for the cleartext `password` method).
    pub fn password_matches(&self, password: &str) -> bool {
        let Some(ScramSecret::Verifier {
            salt,
            iterations,
            stored_key,
            ..
        }) = self.scram_secret()
        else {
            return false;
        };
        let salted = gen_salted_password(password, &salt, iterations);
        let candidate = ScramSecret::verifier_from_salted_password(salt, salted, iterations);
        matches!(candidate, ScramSecret::Verifier { stored_key: key, .. } if key == stored_key)
    }
}

/// A new verifier for `password`, with a random salt.
pub fn verifier(password: &str) -> String {
    let salt: [u8; 16] = rand::random();
    let salted = gen_salted_password(password, &salt, ITERATIONS);
    let ScramSecret::Verifier {
        stored_key,
        server_key,
        ..
    } = ScramSecret::verifier_from_salted_password(salt.to_vec(), salted, ITERATIONS)
    else {
        unreachable!("verifier_from_salted_password returns a verifier")
    };
    format!(
        "SCRAM-SHA-256${ITERATIONS}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key),
        STANDARD.encode(server_key)
    )
}

fn parse_verifier(text: &str) -> Option<ScramSecret> {
    let rest = text.strip_prefix("SCRAM-SHA-256$")?;
    let (parameters, keys) = rest.split_once('$')?;
    let (iterations, salt) = parameters.split_once(':')?;
    let (stored_key, server_key) = keys.split_once(':')?;
    let secret = ScramSecret::Verifier {
        salt: STANDARD.decode(salt).ok()?,
        iterations: iterations.parse().ok().filter(|i| *i > 0)?,
        stored_key: STANDARD.decode(stored_key).ok().filter(|k| k.len() == 32)?,
        server_key: STANDARD.decode(server_key).ok().filter(|k| k.len() == 32)?,
    };
    Some(secret)
}

#[derive(Serialize, Deserialize, Default)]
struct RolesFile {
    /// The OID the next role gets; kept so a dropped role's OID is never reused.
    #[serde(default)]
    next_oid: u32,
    roles: Vec<Role>,
}

/// The roles by name, and the next OID.
#[derive(Debug, Clone, PartialEq)]
struct State {
    next_oid: u32,
    roles: BTreeMap<String, Role>,
}

impl State {
    fn take_oid(&mut self) -> u32 {
        let oid = self.next_oid.max(16384);
        self.next_oid = oid + 1;
        oid
    }
}

/// The roles of a data directory.
#[derive(Debug)]
pub struct Roles {
    path: PathBuf,
    state: RwLock<State>,
}

impl Roles {
    pub fn open(data_dir: &Path) -> Result<Roles> {
        let path = data_dir.join("roles.json");
        let file = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<RolesFile>(&bytes)
                .map_err(|e| Error::Corruption(format!("{} is damaged: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => RolesFile::default(),
            Err(e) => {
                return Err(Error::io_context(
                    e,
                    format!("cannot read {}", path.display()),
                ))
            }
        };
        let state = State {
            next_oid: file.next_oid,
            roles: file
                .roles
                .into_iter()
                .map(|r| (r.name.clone(), r))
                .collect(),
        };
        Ok(Roles {
            path,
            state: RwLock::new(state),
        })
    }

    pub fn get(&self, name: &str) -> Option<Role> {
        self.state.read().roles.get(name).cloned()
    }

    /// The name of the role with this OID.
    pub fn name_of(&self, oid: u32) -> Option<String> {
        let state = self.state.read();
        state
            .roles
            .values()
            .find(|r| r.oid == oid)
            .map(|r| r.name.clone())
    }

    pub fn all(&self) -> Vec<Role> {
        self.state.read().roles.values().cloned().collect()
    }

    /// Whether any role can log in with a password.
    pub fn any_password(&self) -> bool {
        self.state
            .read()
            .roles
            .values()
            .any(|r| r.login && r.verifier.is_some())
    }

    pub fn create(&self, mut role: Role) -> Result<()> {
        self.change(|state| {
            if state.roles.contains_key(&role.name) {
                return Err(Error::DuplicateObject(format!(
                    "role \"{}\" already exists",
                    role.name
                )));
            }
            role.oid = state.take_oid();
            state.roles.insert(role.name.clone(), role);
            Ok(())
        })
    }

    pub fn alter(&self, name: &str, change: impl FnOnce(&mut Role) -> Result<()>) -> Result<()> {
        self.change(|state| match state.roles.get_mut(name) {
            Some(role) => change(role),
            None => Err(missing(name)),
        })
    }

    /// Returns whether the role existed.
    pub fn drop_role(&self, name: &str, if_exists: bool) -> Result<bool> {
        self.change(|state| match state.roles.remove(name) {
            Some(_) => Ok(true),
            None if if_exists => Ok(false),
            None => Err(missing(name)),
        })
    }

    /// Makes sure the bootstrap superuser exists, can log in and, if `password` is
    /// given, has it.
    pub fn bootstrap(&self, name: &str, password: Option<&str>) -> Result<()> {
        self.change(|state| {
            if !state.roles.contains_key(name) {
                let mut role = Role::new(name);
                role.oid = match state.roles.values().any(|r| r.oid == 10) {
                    true => state.take_oid(),
                    false => 10,
                };
                state.roles.insert(name.to_string(), role);
            }
            let role = state.roles.get_mut(name).expect("inserted above");
            role.login = true;
            role.superuser = true;
            if let Some(password) = password {
                if !role.password_matches(password) {
                    role.set_password(Some(password))?;
                }
            }
            Ok(())
        })
    }

    /// Applies `change` and writes the result durably; on any error nothing changes.
    fn change<T>(&self, change: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let mut state = self.state.write();
        let mut changed = state.clone();
        let result = change(&mut changed)?;
        if changed != *state {
            self.save(&changed)?;
            *state = changed;
        }
        Ok(result)
    }

    fn save(&self, state: &State) -> Result<()> {
        let file = RolesFile {
            next_oid: state.next_oid,
            roles: state.roles.values().cloned().collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file)
            .map_err(|e| Error::Internal(format!("roles do not serialize: {e}")))?;
        let tmp = self.path.with_extension("json.tmp");
        let context = |e| Error::io_context(e, format!("cannot write {}", tmp.display()));
        let mut out = std::fs::File::create(&tmp).map_err(context)?;
        std::io::Write::write_all(&mut out, &bytes).map_err(context)?;
        out.sync_all().map_err(context)?;
        std::fs::rename(&tmp, &self.path).map_err(context)?;
        if let Some(dir) = self.path.parent() {
            crate::storage::paths::sync_dir(dir).map_err(context)?;
        }
        Ok(())
    }
}

fn missing(name: &str) -> Error {
    Error::UndefinedObject(format!("role \"{name}\" does not exist"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_checks_the_password_it_was_made_from() {
        let mut role = Role::new("ada");
        role.set_password(Some("s3cret")).unwrap();
        let text = role.verifier.clone().unwrap();
        assert!(text.starts_with("SCRAM-SHA-256$4096:"), "{text}");
        assert!(role.password_matches("s3cret"));
        assert!(!role.password_matches("S3cret"));
        // md5 of "s3cretada", as PostgreSQL's md5 method expects.
        assert_eq!(role.md5.as_deref().map(str::len), Some(35));

        // A verifier given as the password is stored as it is.
        let mut other = Role::new("bob");
        other.set_password(Some(&text)).unwrap();
        assert_eq!(other.verifier.as_deref(), Some(text.as_str()));
        assert!(other.password_matches("s3cret"));
        assert!(other.set_password(Some("SCRAM-SHA-256$x")).is_err());
    }

    #[test]
    fn roles_survive_reopening_and_failed_changes_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let roles = Roles::open(dir.path()).unwrap();
        roles.bootstrap("grizzly", Some("pw")).unwrap();
        let mut reader = Role::new("reader");
        reader.login = true;
        roles.create(reader.clone()).unwrap();
        assert!(roles.create(reader).is_err(), "a duplicate");
        assert!(roles.alter("nobody", |_| Ok(())).is_err());
        assert!(roles.drop_role("nobody", false).is_err());
        assert!(!roles.drop_role("nobody", true).unwrap());

        let reopened = Roles::open(dir.path()).unwrap();
        assert_eq!(reopened.all(), roles.all());
        assert!(reopened.get("grizzly").unwrap().superuser);
        assert!(reopened.get("grizzly").unwrap().password_matches("pw"));
        assert!(reopened.any_password());
        // OIDs: 10 for the bootstrap superuser, then from 16384, never reused.
        assert_eq!(reopened.get("grizzly").unwrap().oid, 10);
        assert_eq!(reopened.get("reader").unwrap().oid, 16384);
        reopened.drop_role("reader", false).unwrap();
        reopened.create(Role::new("again")).unwrap();
        assert_eq!(
            Roles::open(dir.path()).unwrap().get("again").unwrap().oid,
            16385
        );
    }
}
