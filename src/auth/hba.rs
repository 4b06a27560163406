//! Which connections may log in and how they prove who they are: rules by connection
//! type, database, user and client address, in the format of PostgreSQL's pg_hba.conf.
//!
//! ```text
//! # TYPE     DATABASE  USER   ADDRESS        METHOD
//! host       all       all    127.0.0.1/32   trust
//! hostssl    all       all    0.0.0.0/0      scram-sha-256
//! hostnossl  all       all    all            reject
//! ```
//!
//! The first rule that matches decides; a connection no rule matches is refused. TYPE is
//! `host` (any TCP connection), `hostssl` (TLS only) or `hostnossl` (plain only);
//! DATABASE and USER are `all` or comma-separated names; ADDRESS is `all`, an address or
//! a CIDR block (IPv4 or IPv6); METHOD is `trust`, `reject`, `scram-sha-256`, `md5` or
//! `password` (cleartext, for clients that can do nothing else; use it only over TLS).
//! Without a file, the rules follow `--auth` (`Rules::default_for`).

use std::net::IpAddr;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Trust,
    Reject,
    Scram,
    Md5,
    Password,
}

impl Method {
    pub fn parse(text: &str) -> Option<Method> {
        Some(match text {
            "trust" => Method::Trust,
            "reject" => Method::Reject,
            "scram-sha-256" | "scram" => Method::Scram,
            "md5" => Method::Md5,
            "password" => Method::Password,
            _ => return None,
        })
    }

    /// Whether the method asks for a password.
    pub fn needs_password(self) -> bool {
        matches!(self, Method::Scram | Method::Md5 | Method::Password)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Any,
    Tls,
    Plain,
}

#[derive(Debug, Clone)]
struct Rule {
    transport: Transport,
    databases: Option<Vec<String>>,
    users: Option<Vec<String>>,
    /// Network address and prefix length; None matches every address.
    network: Option<(IpAddr, u8)>,
    method: Method,
}

/// What a connection asks for when it logs in.
#[derive(Debug, Clone, Copy)]
pub struct Login<'a> {
    pub database: &'a str,
    pub user: &'a str,
    pub address: IpAddr,
    pub tls: bool,
}

#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// The rules when no file is given: with `trust`, loopback connections are trusted
    /// and every other one needs a SCRAM password; otherwise every connection, loopback
    /// included, uses `method`.
    pub fn default_for(method: Method) -> Rules {
        let text = match method {
            Method::Trust => {
                "host all all 127.0.0.1/8 trust\nhost all all ::1/128 trust\n\
                 host all all all scram-sha-256"
            }
            Method::Reject => "host all all all reject",
            Method::Scram => "host all all all scram-sha-256",
            Method::Md5 => "host all all all md5",
            Method::Password => "host all all all password",
        };
        Rules::parse(text).expect("the built-in rules parse")
    }

    pub fn parse(text: &str) -> Result<Rules> {
        let mut rules = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let rule = parse_rule(line).map_err(|problem| {
                Error::InvalidInput(format!(
                    "authentication rules, line {}: {problem}",
                    number + 1
                ))
            })?;
            rules.push(rule);
        }
        Ok(Rules { rules })
    }

    /// The method for a login: the first matching rule's, or `Reject` when none matches.
    pub fn method(&self, login: &Login) -> Method {
        self.rules
            .iter()
            .find(|rule| rule.matches(login))
            .map_or(Method::Reject, |rule| rule.method)
    }

    /// The same rules for TLS connections only: every plain connection is refused.
    pub fn require_tls(mut self) -> Rules {
        let plain = parse_rule("hostnossl all all all reject").expect("the rule parses");
        self.rules.insert(0, plain);
        self
    }

    /// Whether some rule lets a connection in without a password.
    pub fn trusts_anyone(&self) -> bool {
        self.rules.iter().any(|r| r.method == Method::Trust)
    }

    /// Whether every connection from outside loopback needs a password (or is refused).
    pub fn remote_needs_password(&self) -> bool {
        self.rules.iter().all(|rule| {
            rule.method != Method::Trust
                || rule.network.is_some_and(|(address, prefix)| {
                    address.is_loopback() && prefix >= if address.is_ipv4() { 8 } else { 128 }
                })
        })
    }
}

impl Rule {
    fn matches(&self, login: &Login) -> bool {
        let transport = match self.transport {
            Transport::Any => true,
            Transport::Tls => login.tls,
            Transport::Plain => !login.tls,
        };
        let named = |names: &Option<Vec<String>>, name: &str| {
            names
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| n == name))
        };
        transport
            && named(&self.databases, login.database)
            && named(&self.users, login.user)
            && self
                .network
                .is_none_or(|(network, prefix)| in_network(login.address, network, prefix))
    }
}

fn parse_rule(line: &str) -> std::result::Result<Rule, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [kind, databases, users, address, method] = fields[..] else {
        return Err(format!(
            "expected TYPE DATABASE USER ADDRESS METHOD, found \"{line}\""
        ));
    };
    let transport = match kind {
        "host" => Transport::Any,
        "hostssl" => Transport::Tls,
        "hostnossl" => Transport::Plain,
        "local" => return Err("local (Unix socket) rules are not supported".into()),
        other => return Err(format!("unknown connection type \"{other}\"")),
    };
    let names = |text: &str| -> Option<Vec<String>> {
        (text != "all").then(|| text.split(',').map(str::to_string).collect())
    };
    let network = match address {
        "all" => None,
        text => Some(parse_network(text)?),
    };
    let method = Method::parse(method).ok_or_else(|| {
        format!("unknown method \"{method}\"; use trust, reject, scram-sha-256, md5 or password")
    })?;
    Ok(Rule {
        transport,
        databases: names(databases),
        users: names(users),
        network,
        method,
    })
}

fn parse_network(text: &str) -> std::result::Result<(IpAddr, u8), String> {
    let (address, prefix) = text.split_once('/').unwrap_or((text, ""));
    let address: IpAddr = address
        .parse()
        .map_err(|_| format!("\"{text}\" is not an IP address or CIDR block"))?;
    let bits = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        "" => bits,
        p => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= bits)
            .ok_or_else(|| format!("\"{text}\" has a bad prefix length"))?,
    };
    Ok((address, prefix))
}

fn in_network(address: IpAddr, network: IpAddr, prefix: u8) -> bool {
    // An IPv4 client on an IPv6 socket arrives as ::ffff:a.b.c.d.
    let address = match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    };
    match (address, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(user: &str, address: &str, tls: bool) -> Login<'static> {
        Login {
            database: "grizzly",
            user: Box::leak(user.to_string().into_boxed_str()),
            address: address.parse().unwrap(),
            tls,
        }
    }

    #[test]
    fn the_first_matching_rule_decides() {
        let rules = Rules::parse(
            "# comments and blank lines are skipped\n\n\
             hostnossl all all 10.0.0.0/8 reject\n\
             host grizzly admin 10.1.2.3 trust\n\
             hostssl all reader,writer 10.0.0.0/8 scram-sha-256  # trailing comment\n\
             host all all ::1 md5\n",
        )
        .unwrap();
        assert_eq!(
            rules.method(&login("admin", "10.1.2.3", false)),
            Method::Reject
        );
        assert_eq!(
            rules.method(&login("admin", "10.1.2.3", true)),
            Method::Trust
        );
        assert_eq!(
            rules.method(&login("reader", "10.9.9.9", true)),
            Method::Scram
        );
        assert_eq!(
            rules.method(&login("other", "10.9.9.9", true)),
            Method::Reject
        );
        assert_eq!(rules.method(&login("any", "::1", false)), Method::Md5);
        assert_eq!(
            rules.method(&login("any", "192.168.0.1", true)),
            Method::Reject
        );
    }

    #[test]
    fn defaults_trust_loopback_only_and_scram_trusts_nobody() {
        let trust = Rules::default_for(Method::Trust);
        assert_eq!(trust.method(&login("x", "127.0.0.1", false)), Method::Trust);
        assert_eq!(
            trust.method(&login("x", "::ffff:127.0.0.1", false)),
            Method::Trust
        );
        assert_eq!(trust.method(&login("x", "::1", false)), Method::Trust);
        assert_eq!(
            trust.method(&login("x", "192.168.1.5", false)),
            Method::Scram
        );
        assert!(trust.remote_needs_password());
        let scram = Rules::default_for(Method::Scram);
        assert_eq!(scram.method(&login("x", "127.0.0.1", false)), Method::Scram);
        assert!(!scram.trusts_anyone());
        assert!(!Rules::parse("host all all 0.0.0.0/0 trust")
            .unwrap()
            .remote_needs_password());
    }

    #[test]
    fn bad_lines_name_the_line_and_the_problem() {
        for (text, problem) in [
            ("host all all", "expected TYPE"),
            ("host all all 10.0.0.0/33 trust", "bad prefix"),
            ("host all all nowhere trust", "not an IP address"),
            ("host all all all kerberos", "unknown method"),
            ("local all all all trust", "not supported"),
        ] {
            let err = Rules::parse(&format!("\n{text}")).unwrap_err().to_string();
            assert!(err.contains("line 2") && err.contains(problem), "{err}");
        }
    }
}
