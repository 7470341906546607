//! A private OpenSSH server on 127.0.0.1 for the tests of `--host`: its own host key, one
//! authorized user key, a free port, and the "remote" side's own HOME, ORCH_HOME and PATH set
//! for every session (sshd's `SetEnv`). `sshd` comes from the distribution's openssh-server,
//! installed by `install/test-deps.sh`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Where Debian installs the server.
const SSHD: &str = "/usr/sbin/sshd";

/// A running private sshd; killed on drop.
pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// The tmux server (`-L`) the remote side's orch uses: never the user's.
    pub tmux_socket: String,
    child: Child,
}

impl Sshd {
    /// Starts sshd with `path` as the PATH of its sessions; the remote HOME and ORCH_HOME are
    /// `remote/home` and `remote/state` in its folder (created, 0700), and its orch uses a
    /// private tmux server (`ORCH_TMUX_SOCKET`), killed on drop.
    pub fn start(path: &[&Path]) -> Sshd {
        Sshd::start_with(path, &[])
    }

    /// [`Sshd::start`] with `env` (no spaces in the values) set for its sessions too.
    pub fn start_with(path: &[&Path], env: &[(String, String)]) -> Sshd {
        assert!(
            Path::new(SSHD).is_file(),
            "{SSHD} is missing: run install/test-deps.sh (it installs openssh-server)"
        );
        assert!(
            Path::new("/run/sshd").is_dir(),
            "/run/sshd is missing (sshd's privilege separation folder): run install/test-deps.sh"
        );
        let dir = tempfile::Builder::new()
            .prefix("orch-sshd-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        for key in ["host_key", "user_key"] {
            let out = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(key))
                .output()
                .unwrap();
            assert!(out.status.success(), "ssh-keygen: {out:?}");
        }
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
        for sub in ["remote/home", "remote/state"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
            set_mode(&d.join(sub), 0o700);
        }
        let tmux_socket = crate::util::unique("orch-remote");
        let extra: String = env.iter().map(|(k, v)| format!(" {k}={v}")).collect();
        let mut dirs: Vec<String> = path.iter().map(|p| p.display().to_string()).collect();
        dirs.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(String::from));
        // A port the kernel just handed out; sshd may still lose a race for it: then retry.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let config = format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\n\
                 AuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd.pid\nStrictModes no\n\
                 UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\n\
                 SetEnv HOME={d}/remote/home ORCH_HOME={d}/remote/state PATH={path} \
                 LANG=C.UTF-8 TERM=xterm-256color ORCH_TMUX_SOCKET={tmux_socket}{extra}\n",
                d = d.display(),
                path = dirs.join(":")
            );
            std::fs::write(d.join("sshd_config"), config).unwrap();
            let mut child = run_sshd(d);
            if wait_listening(&mut child, port) {
                return Sshd {
                    dir,
                    port,
                    tmux_socket,
                    child,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("sshd did not start: {}", log(d));
    }

    /// The `ORCH_SSH` for this server: its port and key, no user config, no known-hosts file.
    pub fn ssh_command(&self) -> String {
        format!(
            "ssh -F /dev/null -p {} -i {} -o UserKnownHostsFile=/dev/null \
             -o StrictHostKeyChecking=no -o LogLevel=ERROR -o ControlPersist=5",
            self.port,
            self.dir.path().join("user_key").display()
        )
    }

    /// Takes the server down as a network outage would: the listener and every connection
    /// (the per-connection sshd processes outlive the listener, so they go first).
    pub fn stop(&mut self) {
        for pid in crate::util::children_of(self.child.id()) {
            let _ = Command::new("sh")
                .args(["-c", "kill -KILL \"$1\"", "sh", &pid.to_string()])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Brings the server back on the same port, after [`Sshd::stop`].
    pub fn restart(&mut self) {
        self.child = run_sshd(self.dir.path());
        let port = self.port;
        assert!(
            wait_listening(&mut self.child, port),
            "sshd did not come back: {}",
            self.log()
        );
    }

    /// The remote side's HOME.
    pub fn remote_home(&self) -> PathBuf {
        self.dir.path().join("remote/home")
    }

    /// What sshd logged, for failure messages.
    pub fn log(&self) -> String {
        log(self.dir.path())
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.tmux_socket, "kill-server"])
            .stderr(Stdio::null())
            .status();
        self.stop();
    }
}

/// Starts sshd on the config in `dir`, its log appended to `dir/sshd.log`.
fn run_sshd(dir: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("sshd.log"))
        .unwrap();
    Command::new(SSHD)
        .args(["-D", "-e", "-f"])
        .arg(dir.join("sshd_config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Waits until sshd accepts a connection on `port`; false when it exited or 10 s passed.
fn wait_listening(child: &mut Child, port: u16) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
