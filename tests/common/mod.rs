//! Starting the real `grizzly` binary for end-to-end tests: on 127.0.0.1:0, with a
//! temporary data directory, reached over real sockets with tokio-postgres.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct TestServer {
    child: Option<Child>,
    pub port: u16,
    data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on a fresh, empty data directory.
    pub fn start() -> TestServer {
        let temp = tempfile::tempdir().expect("temporary directory");
        let data_dir = temp.path().join("data");
        let mut server = TestServer {
            child: None,
            port: 0,
            data_dir,
            _temp: Some(temp),
        };
        server.spawn();
        server
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn spawn(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_grizzly"))
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--log")
            .arg("warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start grizzly");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let address = line
            .split_whitespace()
            .nth(3)
            .unwrap_or_else(|| panic!("unexpected first line from grizzly: {line:?}"));
        self.port = address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        self.child = Some(child);
    }

    pub fn connection_string(&self) -> String {
        format!("host=127.0.0.1 port={} user=test dbname=grizzly", self.port)
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.connection_string(), tokio_postgres::NoTls)
                .await
                .expect("connect to grizzly");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }

    /// SIGKILL: no shutdown, no flush; what survives is what was made durable.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit; returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        child.wait().map(|s| s.success()).unwrap_or(false)
    }

    /// Starts the server again on the same data directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}
