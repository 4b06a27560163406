//! Who may connect: roles and their passwords (`roles.rs`), the rules that pick how each
//! connection proves who it is (`hba.rs`), and the password checks the wire protocol's
//! authentication runs against the roles (`wire/startup.rs` drives them).
//!
//! Unknown users, users without a password and users who may not log in are answered
//! exactly as a wrong password is: the SCRAM exchange runs to its end against a made-up
//! verifier and fails with 28P01, so neither the error nor the time it takes tells them
//! apart.

pub mod hba;
pub mod roles;

use std::sync::Arc;

use async_trait::async_trait;
use pgwire::api::auth::sasl::scram::ScramSecret;
use pgwire::api::auth::{AuthSource, LoginInfo, Password};
use pgwire::error::{PgWireError, PgWireResult};

pub use hba::{Method, Rules};
pub use roles::{Role, Roles};

/// Everything the server needs to let a connection in.
#[derive(Debug)]
pub struct Auth {
    pub roles: Arc<Roles>,
    pub rules: Rules,
}

/// The roles as pgwire's password mechanisms see them.
#[derive(Debug)]
pub struct RoleSource {
    roles: Arc<Roles>,
}

impl RoleSource {
    pub fn new(roles: Arc<Roles>) -> RoleSource {
        RoleSource { roles }
    }

    /// The role a password may log in as: it exists, may log in and has a password.
    fn login_role(&self, login: &LoginInfo) -> Option<Role> {
        let role = self.roles.get(login.user()?)?;
        (role.login && role.verifier.is_some()).then_some(role)
    }
}

/// A verifier no password matches, for logins that must fail like a wrong password.
fn made_up_verifier() -> ScramSecret {
    ScramSecret::Verifier {
        salt: rand::random::<[u8; 16]>().to_vec(),
        iterations: 4096,
        stored_key: rand::random::<[u8; 32]>().to_vec(),
        server_key: rand::random::<[u8; 32]>().to_vec(),
    }
}

#[async_trait]
impl AuthSource for RoleSource {
    /// For the md5 method: the hash the client must send for this connection's salt.
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let salt: [u8; 4] = rand::random();
        let inner = self
            .login_role(login)
            .and_then(|role| role.md5)
            .unwrap_or_else(|| format!("md5{:x}", md5::compute(rand::random::<[u8; 16]>())));
        let inner = inner.trim_start_matches("md5");
        let expected = format!("md5{:x}", md5::compute([inner.as_bytes(), &salt].concat()));
        Ok(Password::new(Some(salt.to_vec()), expected.into_bytes()))
    }

    /// For the cleartext `password` method.
    async fn verify_password(
        &self,
        login: &LoginInfo,
        presented: &[u8],
    ) -> PgWireResult<Option<()>> {
        let password = std::str::from_utf8(presented).unwrap_or_default();
        let password = password.trim_end_matches('\0');
        match self.login_role(login) {
            Some(role) if role.password_matches(password) => Ok(None),
            _ => Err(PgWireError::InvalidPassword(
                login.user().unwrap_or_default().to_owned(),
            )),
        }
    }

    async fn get_scram_secret(&self, login: &LoginInfo) -> PgWireResult<(ScramSecret, Option<()>)> {
        let secret = self
            .login_role(login)
            .and_then(|role| role.scram_secret())
            .unwrap_or_else(made_up_verifier);
        Ok((secret, None))
    }
}
