//! The servers under load, as child processes on 127.0.0.1: the twin (the
//! release `orgtwin` binary) and `moto_server`. Each is killed when its
//! [`Server`] is dropped, so a panicking benchmark leaves nothing running.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a server may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server; dropping it kills its process group and reaps it.
pub struct Server {
    pub name: &'static str,
    pub addr: SocketAddr,
    child: Child,
    /// Where its standard error goes.
    pub log: PathBuf,
    /// From spawning to ready.
    pub startup: Duration,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's memory, from `/proc/PID/status`.
    pub fn memory(&self) -> Memory {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kb| kb.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Memory {
            rss_kib: field("VmRSS:"),
            peak_kib: field("VmHWM:"),
        }
    }
}

/// CPU time (user and system) a process has used, from `/proc/PID/stat`;
/// `pid` `None` is this process.
pub fn cpu_time(pid: Option<u32>) -> Duration {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_string(),
        |p| format!("/proc/{p}/stat"),
    );
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses:
    // state is the first, utime the 12th, stime the 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The 1-minute load average, to tell a quiet machine from a busy one.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

impl Drop for Server {
    fn drop(&mut self) {
        // The server leads its own process group (see `spawn`): kill the
        // group, so a wrapper script's children go too, then the child.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory now and at its peak, in KiB.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

impl Memory {
    pub fn rss_mib(&self) -> f64 {
        kib_to_mib(self.rss_kib)
    }

    pub fn peak_mib(&self) -> f64 {
        kib_to_mib(self.peak_kib)
    }
}

fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn spawn(mut command: Command, log: &Path) -> Child {
    let log_file = std::fs::File::create(log).expect("create the server log");
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .process_group(0);
    command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", command.get_program()))
}

/// The release `orgtwin` binary: `ORGTWIN_BIN` when set, otherwise built now
/// with `cargo build --release --bin orgtwin`.
pub fn orgtwin_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ORGTWIN_BIN") {
        return PathBuf::from(path);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--bin", "orgtwin"])
        .current_dir(&workspace)
        .status()
        .expect("run cargo build");
    assert!(
        status.success(),
        "cargo build --release --bin orgtwin failed"
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), PathBuf::from);
    target.join("release").join("orgtwin")
}

/// Starts `orgtwin up` on an ephemeral loopback port over `state`, and waits
/// for its `orgtwin serving on http://...` line.
pub fn start_twin(binary: &Path, state: &Path) -> Server {
    let log = state.with_extension("log");
    let mut command = Command::new(binary);
    command.args(["up", "--listen", "127.0.0.1:0", "--state"]);
    command.arg(state);
    let started = Instant::now();
    let mut child = spawn(command, &log);
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, ready) = mpsc::channel();
    std::thread::spawn(move || {
        // Reads until the server exits, so it never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let deadline = started + READY_TIMEOUT;
    let addr = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = ready
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("orgtwin did not become ready; see {}", log.display()));
        if let Some(rest) = line.strip_prefix("orgtwin serving on http://") {
            let addr = rest.split_whitespace().next().unwrap_or_default();
            break addr.parse().expect("the twin's address");
        }
    };
    let mut server = Server {
        name: "orgtwin",
        addr,
        child,
        log,
        startup: Duration::ZERO,
    };
    wait_for_http(&server, "/_orgtwin/health");
    server.startup = started.elapsed();
    server
}

/// Starts `moto_server` (or `MOTO_SERVER`) on a free loopback port; `None`
/// when it is not installed.
pub fn start_moto(dir: &Path) -> Option<Server> {
    let program = std::env::var_os("MOTO_SERVER").unwrap_or_else(|| "moto_server".into());
    let found = Command::new(&program)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let log = dir.join("moto.log");
    let mut command = Command::new(&program);
    command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    let started = Instant::now();
    let mut child = spawn(command, &log);
    let stdout = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut BufReader::new(stdout), &mut std::io::sink());
    });
    let mut server = Server {
        name: "moto",
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        child,
        log,
        startup: Duration::ZERO,
    };
    wait_for_http(&server, "/");
    server.startup = started.elapsed();
    Some(server)
}

/// Polls `GET path` until any HTTP answer comes back.
fn wait_for_http(server: &Server, path: &str) {
    use std::io::{Read, Write};
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let answered = TcpStream::connect_timeout(&server.addr, Duration::from_secs(1))
            .and_then(|mut stream| {
                stream.set_read_timeout(Some(Duration::from_secs(5)))?;
                write!(
                    stream,
                    "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                    server.addr
                )?;
                let mut head = [0u8; 12];
                stream.read_exact(&mut head)?;
                Ok(head.starts_with(b"HTTP/1."))
            })
            .unwrap_or(false);
        if answered {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not answer on {}; see {}",
            server.name,
            server.addr,
            server.log.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
