//! Authentication, roles, TLS and connection limits, through the real server: SCRAM with
//! right and wrong passwords (the same 28P01 for an unknown user), roles managed with SQL
//! and kept across restarts, rules from a pg_hba-style file, TLS from psql with
//! `sslmode=require` and `verify-full`, refusing plain connections, refusing to start
//! beyond loopback without passwords, the connection limit, and an oversized start-up
//! packet.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use common::TestServer;
use tokio_postgres::{Client, NoTls};

const PASSWORD: &str = "correct horse";

fn scram_server(extra: &[&str]) -> TestServer {
    let mut args = vec!["--auth", "scram"];
    args.extend_from_slice(extra);
    TestServer::start_with_env(&args, &[("GRIZZLY_PASSWORD", PASSWORD)])
}

async fn connect(
    server: &TestServer,
    user: &str,
    password: &str,
) -> Result<Client, tokio_postgres::Error> {
    let config = format!(
        "host=127.0.0.1 port={} user={user} password='{password}' dbname=grizzly",
        server.port
    );
    let (client, connection) = tokio_postgres::connect(&config, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// SQLSTATE and message of a failed connection or statement.
fn failure(err: &tokio_postgres::Error) -> (String, String) {
    let db = err
        .as_db_error()
        .unwrap_or_else(|| panic!("not a server error: {err}"));
    (db.code().code().to_string(), db.message().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn scram_passwords_are_checked_and_failures_look_alike() {
    let server = scram_server(&[]);
    let client = connect(&server, "grizzly", PASSWORD).await.unwrap();
    let who: String = client
        .query_one("SELECT current_user", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(who, "grizzly");

    let wrong = connect(&server, "grizzly", "wrong").await.unwrap_err();
    let unknown = connect(&server, "nobody", PASSWORD).await.unwrap_err();
    assert_eq!(
        failure(&wrong),
        (
            "28P01".into(),
            "password authentication failed for user \"grizzly\"".into()
        )
    );
    assert_eq!(
        failure(&unknown),
        (
            "28P01".into(),
            "password authentication failed for user \"nobody\"".into()
        )
    );
    // Loopback is not trusted under --auth scram: no password, no connection.
    let config = format!(
        "host=127.0.0.1 port={} user=grizzly dbname=grizzly",
        server.port
    );
    assert!(tokio_postgres::connect(&config, NoTls).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_are_managed_with_sql_and_survive_a_restart() {
    let mut server = scram_server(&[]);
    let admin = connect(&server, "grizzly", PASSWORD).await.unwrap();
    admin
        .batch_execute(
            "CREATE ROLE reader LOGIN PASSWORD 'r-pass'; \
             CREATE USER writer WITH PASSWORD 'w-pass'; \
             CREATE ROLE nologin PASSWORD 'n-pass'",
        )
        .await
        .unwrap();
    let err = admin.batch_execute("CREATE ROLE reader").await.unwrap_err();
    assert_eq!(failure(&err).0, "42710");

    let reader = connect(&server, "reader", "r-pass").await.unwrap();
    let writer = connect(&server, "writer", "w-pass").await.unwrap();
    writer
        .batch_execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    let err = connect(&server, "nologin", "n-pass").await.unwrap_err();
    assert_eq!(
        failure(&err).0,
        "28P01",
        "a role without LOGIN cannot log in"
    );

    // A role that is not a superuser manages no roles and takes no backups, but may
    // change its own password.
    for sql in [
        "CREATE ROLE other",
        "ALTER ROLE writer SUPERUSER",
        "DROP ROLE writer",
        "SELECT * FROM grizzly_backup('file:///tmp/never')",
    ] {
        let err = reader.batch_execute(sql).await.unwrap_err();
        assert_eq!(failure(&err).0, "42501", "{sql}");
    }
    reader
        .batch_execute("ALTER ROLE reader PASSWORD 'r-new'")
        .await
        .unwrap();
    assert!(connect(&server, "reader", "r-pass").await.is_err());
    connect(&server, "reader", "r-new").await.unwrap();

    let err = admin.batch_execute("DROP ROLE grizzly").await.unwrap_err();
    assert_eq!(
        failure(&err).0,
        "55006",
        "the current user cannot be dropped"
    );
    admin
        .batch_execute("DROP USER writer; DROP ROLE IF EXISTS ghost")
        .await
        .unwrap();
    let err = admin.batch_execute("DROP ROLE ghost").await.unwrap_err();
    assert_eq!(failure(&err).0, "42704");

    // A password given as a SCRAM verifier (what psql's \password sends) is kept.
    let verifier = grizzly::auth::roles::verifier("from-verifier");
    admin
        .batch_execute(&format!("ALTER ROLE reader PASSWORD '{verifier}'"))
        .await
        .unwrap();
    drop((admin, reader, writer));

    server.restart();
    connect(&server, "reader", "from-verifier").await.unwrap();
    assert!(
        connect(&server, "writer", "w-pass").await.is_err(),
        "dropped stays dropped"
    );
    let admin = connect(&server, "grizzly", PASSWORD).await.unwrap();
    let roles: Vec<(String, bool, bool)> = admin
        .query(
            "SELECT rolname, rolsuper, rolcanlogin FROM pg_roles ORDER BY rolname",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        roles,
        vec![
            ("grizzly".into(), true, true),
            ("nologin".into(), false, false),
            ("reader".into(), false, true),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_from_a_file_decide_per_user_and_database() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("hba.conf");
    std::fs::write(
        &rules,
        "# TYPE DATABASE USER ADDRESS METHOD\n\
         host   all      guest 127.0.0.1/32 trust\n\
         host   secret   all   all          reject\n\
         host   all      all   127.0.0.1/32 scram-sha-256\n",
    )
    .unwrap();
    let server = TestServer::start_with_env(
        &["--hba", rules.to_str().unwrap()],
        &[("GRIZZLY_PASSWORD", PASSWORD)],
    );
    let config = |user: &str, database: &str| {
        format!(
            "host=127.0.0.1 port={} user={user} dbname={database}",
            server.port
        )
    };
    let (guest, connection) = tokio_postgres::connect(&config("guest", "grizzly"), NoTls)
        .await
        .expect("guest is trusted");
    tokio::spawn(connection);
    guest.batch_execute("SELECT 1").await.unwrap();

    let err = tokio_postgres::connect(&config("grizzly", "secret"), NoTls)
        .await
        .err()
        .unwrap();
    let (code, message) = failure(&err);
    assert_eq!(code, "28000");
    assert!(message.contains("no authentication rule"), "{message}");
    assert!(
        tokio_postgres::connect(&config("grizzly", "grizzly"), NoTls)
            .await
            .is_err()
    );
    connect(&server, "grizzly", PASSWORD).await.unwrap();
}

#[test]
fn listening_beyond_loopback_without_passwords_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_grizzly"))
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--listen",
            "0.0.0.0:0",
        ])
        .env_remove("GRIZZLY_PASSWORD")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("GRIZZLY_PASSWORD"), "{stderr}");

    let scram = Command::new(env!("CARGO_BIN_EXE_grizzly"))
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--auth",
            "scram",
        ])
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("GRIZZLY_PASSWORD")
        .output()
        .unwrap();
    assert!(
        !scram.status.success(),
        "--auth scram with no password at all"
    );
}

/// A CA, and a server certificate it signed for localhost and 127.0.0.1, made with the
/// openssl command.
fn certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl {args:?}");
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=Grizzly test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

/// Runs `SELECT <value>` through psql with a connection string; its output or error.
fn psql(conninfo: &str, value: &str) -> Result<String, String> {
    let output = Command::new("psql")
        .args(["-X", "-A", "-t", "-c", &format!("SELECT {value}"), conninfo])
        .env("PGPASSWORD", PASSWORD)
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("psql runs");
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
    match output.status.success() {
        true => Ok(stdout),
        false => Err(String::from_utf8_lossy(&output.stderr).to_string()),
    }
}

#[test]
fn psql_connects_over_tls_and_plain_connections_can_be_refused() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let cert = dir.path().join("server.crt");
    let key = dir.path().join("server.key");
    let ca = dir.path().join("ca.crt");
    let server = scram_server(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--require-tls",
    ]);
    let port = server.port;
    let base = format!("port={port} user=grizzly dbname=grizzly");
    assert_eq!(
        psql(&format!("host=127.0.0.1 {base} sslmode=require"), "'tls'").unwrap(),
        "tls"
    );
    let verify = format!(
        "host=localhost {base} sslmode=verify-full sslrootcert={}",
        ca.display()
    );
    assert_eq!(psql(&verify, "'verified'").unwrap(), "verified");
    // SCRAM over TLS binds the channel (SCRAM-SHA-256-PLUS).
    let bound = format!("host=127.0.0.1 {base} sslmode=require channel_binding=require");
    assert_eq!(psql(&bound, "'bound'").unwrap(), "bound");

    let plain = psql(&format!("host=127.0.0.1 {base} sslmode=disable"), "1").unwrap_err();
    assert!(plain.contains("without TLS"), "{plain}");
    // A certificate signed by a CA the client does not trust is refused by the client.
    let other = tempfile::tempdir().unwrap();
    certificates(other.path());
    let untrusted = format!(
        "host=localhost {base} sslmode=verify-full sslrootcert={}",
        other.path().join("ca.crt").display()
    );
    assert!(psql(&untrusted, "1").is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_past_the_limit_are_refused_with_53300() {
    let server = TestServer::start_with(&["--max-connections", "2"]);
    let first = server.client().await;
    let second = server.client().await;
    let err = tokio_postgres::connect(&server.connection_string(), NoTls)
        .await
        .err()
        .expect("a third connection is refused");
    assert_eq!(failure(&err).0, "53300");
    drop(first);
    // The slot comes back once the first connection has closed.
    let mut third = None;
    for _ in 0..50 {
        if let Ok((client, connection)) =
            tokio_postgres::connect(&server.connection_string(), NoTls).await
        {
            tokio::spawn(connection);
            third = Some(client);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    third
        .expect("a connection after one closed")
        .batch_execute("SELECT 1")
        .await
        .unwrap();
    second.batch_execute("SELECT 1").await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_startup_packet_is_refused_without_reading_it() {
    let server = TestServer::start();
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    // A start-up packet that says it is 1 GB long, followed by a little of it.
    socket.write_all(&(1u32 << 30).to_be_bytes()).unwrap();
    socket.write_all(&196608u32.to_be_bytes()).unwrap();
    socket.write_all(&[b'x'; 1024]).unwrap();
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    // The server hangs up (after an error or none) instead of waiting for a gigabyte.
    assert!(answer.is_empty() || answer[0] == b'E', "{answer:?}");
    server
        .client()
        .await
        .batch_execute("SELECT 1")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_are_closed_after_their_timeout() {
    let server = TestServer::start_with(&["--idle-timeout", "1"]);
    let idle = server.client().await;
    let active = server.client().await;
    // The active one keeps running statements; the idle one does nothing for 3 s.
    for _ in 0..6 {
        active.batch_execute("SELECT 1").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(
        idle.batch_execute("SELECT 1").await.is_err(),
        "the idle connection was closed"
    );
    assert!(idle.is_closed());
    active.batch_execute("SELECT 1").await.unwrap();

    // A session's idle_session_timeout wins over the server's.
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("SET idle_session_timeout = '300ms'")
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(client.batch_execute("SELECT 1").await.is_err());
    let other = server.client().await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    other.batch_execute("SELECT 1").await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn md5_and_cleartext_methods_check_the_same_passwords() {
    for method in ["md5", "password"] {
        let server =
            TestServer::start_with_env(&["--auth", method], &[("GRIZZLY_PASSWORD", PASSWORD)]);
        let admin = connect(&server, "grizzly", PASSWORD).await.unwrap();
        admin
            .batch_execute("CREATE ROLE app LOGIN PASSWORD 'app-pass'")
            .await
            .unwrap();
        connect(&server, "app", "app-pass").await.unwrap();
        for (user, password) in [("app", "wrong"), ("grizzly", "wrong"), ("nobody", "x")] {
            let err = connect(&server, user, password).await.unwrap_err();
            assert_eq!(
                failure(&err),
                (
                    "28P01".into(),
                    format!("password authentication failed for user \"{user}\"")
                ),
                "{method}"
            );
        }
    }
}
