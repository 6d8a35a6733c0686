//! Mosquitto (Debian's `mosquitto`) on a free loopback port, stoppable and restartable
//! on the same port, with no persistence: a restart forgets retained messages.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

pub const MOSQUITTO_PACKAGES: &str = "mosquitto mosquitto-clients";

pub struct Mosquitto {
    pub port: u16,
    child: Option<Child>,
    config: tempfile::NamedTempFile,
}

impl Mosquitto {
    /// Starts a broker on a free port (another port is tried if another program took the
    /// one chosen before the broker could bind it).
    pub fn start() -> Self {
        Self::start_with("allow_anonymous true")
    }

    /// Starts a broker whose configuration file ends with `settings` (e.g.
    /// `allow_anonymous false`, `password_file …`, `acl_file …`).
    pub fn start_with(settings: &str) -> Self {
        require_mosquitto();
        for _ in 0..5 {
            let mut broker = Self::configured(free_port(), settings);
            if broker.try_start() {
                return broker;
            }
        }
        panic!("mosquitto could not listen on any of 5 free ports");
    }

    /// Starts a broker on `port` (chosen by the caller, e.g. written into a file first)
    /// whose configuration ends with `settings`.
    pub fn start_on(port: u16, settings: &str) -> Self {
        require_mosquitto();
        let mut broker = Self::configured(port, settings);
        assert!(broker.try_start(), "mosquitto could not listen on port {port}");
        broker
    }

    /// A broker on loopback `port` whose configuration ends with `settings`, not started.
    fn configured(port: u16, settings: &str) -> Self {
        let mut config = tempfile::NamedTempFile::new().expect("a config file");
        writeln!(config, "listener {port} 127.0.0.1\npersistence false\n{settings}").expect("write config");
        Self { port, child: None, config }
    }

    /// Starts the broker again on its port.
    pub fn restart(&mut self) {
        assert!(self.try_start(), "mosquitto did not come back on port {}", self.port);
    }

    /// Starts the broker and waits until it listens; false if it exited (port taken).
    fn try_start(&mut self) -> bool {
        self.stop();
        let child = Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(self.config.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(c) = self.child.as_mut()
                && c.try_wait().ok().flatten().is_some()
            {
                self.child = None;
                return false;
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                // Listening, and it is ours if it is still running a moment later.
                std::thread::sleep(Duration::from_millis(100));
                return self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none());
            }
            assert!(Instant::now() < deadline, "mosquitto did not listen on port {}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `mosquitto -h` exits with 3 on Debian; check that the program runs at all.
fn require_mosquitto() {
    let runs =
        Command::new("/usr/sbin/mosquitto").arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    assert!(
        runs,
        "this test needs `/usr/sbin/mosquitto`: install the Debian packages {MOSQUITTO_PACKAGES} (.ci/run does)"
    );
}
