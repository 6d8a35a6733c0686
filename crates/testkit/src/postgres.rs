//! A throwaway PostgreSQL (Debian's `postgresql`) on a free loopback port: `initdb` into
//! a temporary folder (as the `postgres` user when the tests run as root, since the
//! server refuses to run as root), started with `fsync = off`, stoppable with SIGKILL and
//! restartable on the same data.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

pub const POSTGRES_PACKAGES: &str = "postgresql";

pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    data: tempfile::TempDir,
    child: Option<Child>,
}

/// The newest `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "this test needs PostgreSQL's server programs in /usr/lib/postgresql/<version>/bin: install the \
             Debian package {POSTGRES_PACKAGES} (.ci/run does)"
        ),
    }
}

fn as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `program args…`, run as `postgres` when we are root.
fn command(program: &Path) -> Command {
    if as_root() {
        let mut c = Command::new("runuser");
        c.arg("-u").arg("postgres").arg("--").arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl Postgres {
    /// A new cluster with a superuser `postgres` (trust on loopback) and a database
    /// `sheetsight`.
    pub fn start() -> Self {
        let bin = bin_dir();
        let data = tempfile::Builder::new().prefix("sheetsight-pg").tempdir().expect("a temporary folder");
        if as_root() {
            let status = Command::new("chown").arg("-R").arg("postgres:postgres").arg(data.path()).status();
            assert!(status.is_ok_and(|s| s.success()), "chown of the test cluster's folder to postgres");
        }
        let out = command(&bin.join("initdb"))
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "-D"])
            .arg(data.path().join("db"))
            .stdout(Stdio::null())
            .output()
            .expect("run initdb");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let mut pg = Self { port: free_port(), bin, data, child: None };
        pg.restart();
        let out = command(&pg.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p", &pg.port.to_string(), "sheetsight"])
            .output()
            .expect("run createdb");
        assert!(out.status.success(), "createdb failed: {}", String::from_utf8_lossy(&out.stderr));
        pg
    }

    /// The URL of database `sheetsight` as the superuser.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/sheetsight", self.port)
    }

    /// The URL of database `sheetsight` as `user` with `password`.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        format!("postgres://{user}:{password}@127.0.0.1:{}/sheetsight", self.port)
    }

    /// Runs `sql` with `psql` as the superuser; panics with its error output on failure.
    pub fn psql(&self, sql: &str) -> String {
        let out = command(&self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p", &self.port.to_string(), "-d", "sheetsight"])
            .args(["-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .output()
            .expect("run psql");
        assert!(out.status.success(), "psql {sql:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Starts the server (again) on its port and data, and waits until it accepts
    /// connections.
    pub fn restart(&mut self) {
        // After a SIGKILL the old server's backends may hold its shared memory a moment.
        for _ in 0..20 {
            if self.try_start() {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("postgres did not start on port {}", self.port);
    }

    fn try_start(&mut self) -> bool {
        self.kill();
        let socket_dir = self.data.path();
        let child = command(&self.bin.join("postgres"))
            .arg("-D")
            .arg(self.data.path().join("db"))
            .args(["-p", &self.port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "max_connections=200", "-c"])
            .arg(format!("unix_socket_directories={}", socket_dir.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = command(&self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return true;
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(_)) = c.try_wait()
            {
                self.child = None;
                return false;
            }
            assert!(Instant::now() < deadline, "postgres did not accept connections on port {}", self.port);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the server with SIGKILL: what a power cut does to the process.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            // runuser forwards signals to postgres; kill the whole process group's server
            // by its pid file as well, in case it does not.
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Ok(pid) = std::fs::read_to_string(self.data.path().join("db/postmaster.pid"))
            && let Some(pid) = pid.lines().next().and_then(|l| l.trim().parse::<i32>().ok())
        {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).stderr(Stdio::null()).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.kill();
    }
}
