//! A private PostgreSQL server started by a test (initdb + pg_ctl on a free port), so the test can stop
//! and start it at will.

use crate::support::free_port;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PrivatePg {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

fn pg_bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries under /usr/lib/postgresql")
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort();
    found
        .pop()
        .expect("an initdb under /usr/lib/postgresql/*/bin")
}

fn running_as_root() -> bool {
    let output = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

/// Runs a server program as the `postgres` user when we are root (PostgreSQL refuses to run as root).
fn server_command(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

impl PrivatePg {
    pub fn start() -> PrivatePg {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        if running_as_root() {
            let status = Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let bin = pg_bin_dir();
        let output = server_command(&bin.join("initdb"))
            .args(["-U", "postgres", "--auth=trust", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let server = PrivatePg {
            port: free_port(),
            bin,
            data,
            _dir: dir,
        };
        server.start_again();
        server
    }

    /// A server where every role but `postgres` logs in with its SCRAM password over TCP (the
    /// admin connection stays trusted), so a wrong password really fails.
    pub fn start_with_passwords() -> PrivatePg {
        let server = PrivatePg::start();
        let hba = "host all postgres 127.0.0.1/32 trust\n\
                   host all all 127.0.0.1/32 scram-sha-256\n\
                   local all all trust\n";
        // Written over the file initdb made, so it keeps its owner.
        std::fs::write(server.data.join("pg_hba.conf"), hba).unwrap();
        server
            .admin()
            .batch_execute("SELECT pg_reload_conf()")
            .unwrap();
        server
    }

    /// What the server logged so far (failed authentications among it).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default()
    }

    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.data.display()
        );
        let output = server_command(&self.bin.join("pg_ctl"))
            .args(["-w", "-D"])
            .arg(&self.data)
            .args(["-o", &options, "-l"])
            .arg(self.data.join("server.log"))
            .arg("start")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn stop(&self) {
        let output = server_command(&self.bin.join("pg_ctl"))
            .args(["-w", "-m", "fast", "-D"])
            .arg(&self.data)
            .arg("stop")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn admin(&self) -> postgres::Client {
        let dsn = format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        );
        postgres::Client::connect(&dsn, postgres::NoTls).unwrap()
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = server_command(&self.bin.join("pg_ctl"))
            .args(["-w", "-m", "immediate", "-D"])
            .arg(&self.data)
            .arg("stop")
            .output();
    }
}
