//! CREATE ROLE, ALTER ROLE and DROP ROLE (and their USER spellings, which `dialect.rs`
//! turns into these), kept in the data directory's roles (`auth/roles.rs`).
//!
//! Only a superuser manages roles; any role may change its own password, as in
//! PostgreSQL. Role attributes Grizzly has no use for (CREATEDB, CREATEROLE, INHERIT,
//! REPLICATION, BYPASSRLS, CONNECTION LIMIT, VALID UNTIL) are refused rather than
//! silently ignored. Grizzly has no privileges on tables yet: every role that can log in
//! may read and write every table; only role management and backups need a superuser.

use datafusion::sql::sqlparser::ast::{
    self, AlterRoleOperation, CreateRole, Expr, ObjectName, RoleOption, Value,
};

use crate::auth::{Role, Roles};
use crate::error::{Error, Result};

/// Who runs the statement.
pub struct Actor<'a> {
    pub user: &'a str,
    pub superuser: bool,
}

fn denied(what: &str) -> Error {
    Error::InsufficientPrivilege(format!(
        "permission denied to {what}: only a superuser can manage roles"
    ))
}

fn role_name(name: &ObjectName) -> Result<String> {
    match name.0.as_slice() {
        [part] => Ok(part
            .as_ident()
            .map(super::ddl::normalize_ident)
            .unwrap_or_default()),
        _ => Err(Error::Syntax(format!(
            "role name {name} must not be qualified"
        ))),
    }
}

fn password_text(password: &ast::Password) -> Result<Option<String>> {
    match password {
        ast::Password::NullPassword => Ok(None),
        ast::Password::Password(Expr::Value(value)) => match &value.value {
            Value::SingleQuotedString(text) | Value::EscapedStringLiteral(text) => {
                Ok(Some(text.clone()))
            }
            Value::Null => Ok(None),
            _ => Err(Error::Syntax("a password is a string literal".into())),
        },
        ast::Password::Password(_) => Err(Error::Syntax("a password is a string literal".into())),
    }
}

fn unsupported(option: &str) -> Error {
    Error::Unsupported(format!(
        "role option {option} is not supported; Grizzly roles have LOGIN, SUPERUSER and \
         PASSWORD"
    ))
}

pub fn create(roles: &Roles, create: &CreateRole, actor: &Actor) -> Result<()> {
    if !actor.superuser {
        return Err(denied("create role"));
    }
    let unsupported_given = [
        ("CREATEDB", create.create_db.is_some()),
        ("CREATEROLE", create.create_role.is_some()),
        ("INHERIT", create.inherit == Some(false)),
        ("REPLICATION", create.replication.is_some()),
        ("BYPASSRLS", create.bypassrls.is_some()),
        ("CONNECTION LIMIT", create.connection_limit.is_some()),
        ("VALID UNTIL", create.valid_until.is_some()),
        (
            "IN ROLE",
            !create.in_role.is_empty() || !create.in_group.is_empty(),
        ),
        (
            "ROLE",
            !create.role.is_empty() || !create.user.is_empty() || !create.admin.is_empty(),
        ),
    ];
    if let Some((option, _)) = unsupported_given.iter().find(|(_, given)| *given) {
        return Err(unsupported(option));
    }
    for name in &create.names {
        let mut role = Role::new(&role_name(name)?);
        role.login = create.login.unwrap_or(false);
        role.superuser = create.superuser.unwrap_or(false);
        if let Some(password) = &create.password {
            role.set_password(password_text(password)?.as_deref())?;
        }
        match roles.create(role) {
            Err(Error::DuplicateObject(_)) if create.if_not_exists => {}
            other => other?,
        }
    }
    Ok(())
}

pub fn alter(
    roles: &Roles,
    name: &ast::Ident,
    operation: &AlterRoleOperation,
    actor: &Actor,
) -> Result<()> {
    let name = super::ddl::normalize_ident(name);
    let AlterRoleOperation::WithOptions { options } = operation else {
        return Err(Error::Unsupported(format!(
            "ALTER ROLE … {operation} is not supported; use WITH [NO]LOGIN, [NO]SUPERUSER or \
             PASSWORD"
        )));
    };
    let own_password = name == actor.user
        && options
            .iter()
            .all(|option| matches!(option, RoleOption::Password(_)));
    if !actor.superuser && !own_password {
        return Err(denied("alter role"));
    }
    roles.alter(&name, |role| {
        for option in options {
            match option {
                RoleOption::Login(login) => role.login = *login,
                RoleOption::SuperUser(superuser) => role.superuser = *superuser,
                RoleOption::Password(password) => {
                    role.set_password(password_text(password)?.as_deref())?
                }
                other => return Err(unsupported(&other.to_string())),
            }
        }
        Ok(())
    })
}

pub fn drop(roles: &Roles, names: &[ObjectName], if_exists: bool, actor: &Actor) -> Result<()> {
    if !actor.superuser {
        return Err(denied("drop role"));
    }
    for name in names {
        let name = role_name(name)?;
        if name == actor.user {
            return Err(Error::ObjectInUse("current user cannot be dropped".into()));
        }
        roles.drop_role(&name, if_exists)?;
    }
    Ok(())
}
