//! A connection's start-up: authentication by the rule that matches it (`auth/hba.rs`),
//! then its session, with the settings the client sent in the start-up packet
//! (`application_name`, `options=-c name=value`, …) applied.
//!
//! Password methods run as pgwire's mechanisms (SCRAM-SHA-256, with channel binding over
//! TLS; md5; cleartext) against the roles (`auth::RoleSource`). Every failed password
//! login gets the same 28P01 error, whatever the reason.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::auth::cleartext::CleartextPasswordAuth;
use pgwire::api::auth::driver::AuthOutcome;
use pgwire::api::auth::md5pass::Md5PasswordAuth;
use pgwire::api::auth::mechanism::AuthMechanismFactory;
use pgwire::api::auth::sasl::scram::ScramAuth;
use pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata, AuthDriver,
    DefaultServerParameterProvider, StartupHandler,
};
use pgwire::api::{ClientInfo, PidSecretKeyGenerator, METADATA_DATABASE, METADATA_USER};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use super::handler::{Inner, PIDS};
use crate::auth::hba::Login;
use crate::auth::{Auth, Method, RoleSource};
use crate::sql::Session;

/// How connections authenticate; one per server.
pub struct Authenticator {
    auth: Arc<Auth>,
    driver: AuthDriver<DefaultServerParameterProvider>,
    scram: ScramAuth,
    md5: Md5PasswordAuth<RoleSource>,
    cleartext: CleartextPasswordAuth<RoleSource>,
}

impl Authenticator {
    /// `certificate`: the server's TLS certificate chain (PEM), for SCRAM channel
    /// binding, when TLS is on.
    pub fn new(auth: Arc<Auth>, certificate: Option<&[u8]>) -> PgWireResult<Authenticator> {
        let source = Arc::new(RoleSource::new(auth.roles.clone()));
        let mut scram = ScramAuth::new(source.clone());
        if let Some(pem) = certificate {
            scram.configure_certificate(pem)?;
        }
        Ok(Authenticator {
            auth,
            driver: AuthDriver::new(server_parameters()),
            scram,
            md5: Md5PasswordAuth::new(source.clone()),
            cleartext: CleartextPasswordAuth::new(source),
        })
    }

    pub fn auth(&self) -> &Auth {
        &self.auth
    }
}

pub fn server_parameters() -> DefaultServerParameterProvider {
    let mut parameters = DefaultServerParameterProvider::default();
    parameters.server_version = crate::PG_SERVER_VERSION.to_string();
    parameters.time_zone = "UTC".into();
    parameters.date_style = "ISO, MDY".into();
    parameters.client_encoding = Some("UTF8".into());
    parameters
}

fn fatal(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".into(),
        code.into(),
        message,
    )))
}

fn password_failed(user: &str) -> PgWireError {
    fatal(
        "28P01",
        format!("password authentication failed for user \"{user}\""),
    )
}

#[async_trait]
impl StartupHandler for Inner {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let authenticator = self.authenticator.clone();
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                let (user, database) = login_names(client);
                if user.is_empty() {
                    return Err(fatal(
                        "28000",
                        "no PostgreSQL user name specified in startup packet".into(),
                    ));
                }
                let login = Login {
                    database: &database,
                    user: &user,
                    address: client.socket_addr().ip(),
                    tls: client.is_secure(),
                };
                let mechanism = match authenticator.auth.rules.method(&login) {
                    Method::Trust => return self.open_session(client).await,
                    Method::Reject => {
                        let tls = if login.tls { "with" } else { "without" };
                        return Err(fatal(
                            "28000",
                            format!(
                                "no authentication rule lets user \"{user}\" connect to \
                                 database \"{database}\" from {} {tls} TLS; see the server's \
                                 --hba rules",
                                login.address
                            ),
                        ));
                    }
                    Method::Scram => authenticator.scram.create(),
                    Method::Md5 => authenticator.md5.create(),
                    Method::Password => authenticator.cleartext.create(),
                };
                let outcome = authenticator
                    .driver
                    .begin_authentication(client, mechanism)
                    .await;
                self.after_password(client, outcome).await
            }
            PgWireFrontendMessage::PasswordMessageFamily(message) => {
                let outcome = authenticator
                    .driver
                    .advance_authentication(client, message)
                    .await;
                self.after_password(client, outcome).await
            }
            _ => Ok(()),
        }
    }
}

impl Inner {
    async fn after_password<C>(
        &self,
        client: &mut C,
        outcome: PgWireResult<AuthOutcome>,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let (user, _) = login_names(client);
        match outcome {
            Ok(AuthOutcome::InProgress) => Ok(()),
            Ok(AuthOutcome::Authenticated { final_message, .. }) => {
                if let Some(message) = final_message {
                    client
                        .send(PgWireBackendMessage::Authentication(message))
                        .await?;
                }
                self.open_session(client).await
            }
            Err(PgWireError::IoError(e)) => Err(PgWireError::IoError(e)),
            Err(_) => Err(password_failed(&user)),
        }
    }

    /// After authentication: the session, its start-up settings, and ReadyForQuery.
    async fn open_session<C>(&self, client: &mut C) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let auth = self.authenticator.auth();
        let (user, database) = login_names(client);
        // A trusted connection under a name no role has is trusted fully; a role that
        // exists keeps its own attributes.
        let superuser = match auth.roles.get(&user) {
            Some(role) if !role.login => {
                return Err(fatal(
                    "28000",
                    format!("role \"{user}\" is not permitted to log in"),
                ))
            }
            Some(role) => role.superuser,
            None => true,
        };
        let (pid, secret_key) = PIDS.generate(client);
        let _ = self
            .cancel
            .set(self.cancels.register(pid, secret_key.clone()));
        client.set_pid_and_secret_key(pid, secret_key);
        let session = Arc::new(Session::new(
            self.db.clone(),
            auth.roles.clone(),
            &database,
            &user,
            superuser,
            pid,
        ));
        for (name, value) in startup_settings(client.metadata())? {
            session
                .set_startup(&name, value)
                .map_err(|e| fatal("22023", e.to_string()))?;
        }
        self.activity.attach(session.clone());
        let _ = self.session.set(session.clone());
        let _ = self.parser.session.set(session);
        finish_authentication(client, &server_parameters()).await
    }
}

/// The user and database the start-up packet names (the database defaults to the user,
/// as in PostgreSQL; an absent user is empty).
fn login_names(client: &impl ClientInfo) -> (String, String) {
    let metadata = client.metadata();
    let user = metadata.get(METADATA_USER).cloned().unwrap_or_default();
    let database = metadata
        .get(METADATA_DATABASE)
        .cloned()
        .unwrap_or_else(|| user.clone());
    (user, database)
}

/// The settings a start-up packet carries: parameters other than user, database and
/// replication, and each `-c name=value` (or `--name=value`) in `options`.
fn startup_settings(
    metadata: &std::collections::HashMap<String, String>,
) -> PgWireResult<Vec<(String, String)>> {
    let mut settings = Vec::new();
    for (name, value) in metadata {
        match name.as_str() {
            "user" | "database" | "replication" | "client_encoding" => {}
            "options" => {
                let mut words = value.split_whitespace();
                while let Some(word) = words.next() {
                    let assignment = match word {
                        "-c" => words.next().unwrap_or_default(),
                        other => other
                            .strip_prefix("-c")
                            .or_else(|| other.strip_prefix("--"))
                            .unwrap_or(other),
                    };
                    let Some((name, value)) = assignment.split_once('=') else {
                        return Err(fatal(
                            "22023",
                            format!("invalid command-line argument for server process: {word}"),
                        ));
                    };
                    settings.push((name.replace('-', "_"), value.to_string()));
                }
            }
            _ => settings.push((name.clone(), value.clone())),
        }
    }
    Ok(settings)
}
