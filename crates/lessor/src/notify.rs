//! sd_notify(3): tell systemd (a `Type=notify` unit) that `lessor serve` or `lessor relay` is
//! ready, what it is doing, and that it is stopping. A small implementation over a Unix datagram
//! socket rather than a crate: the protocol is one datagram of `KEY=VALUE` lines, and the
//! `sd-notify` crate does not reach the abstract-namespace addresses (`@...`) that systemd may
//! hand out (in a container, or from older versions).
//!
//! The socket is connected once, at start, while the process may still be root: the unit may
//! start the server as root with `[server] user`, and the notify socket need not be reachable
//! by the user afterwards.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// A connection to the supervisor's notification socket.
pub struct Notifier {
    socket: UnixDatagram,
}

impl Notifier {
    /// The socket `NOTIFY_SOCKET` names: `None` when it is unset or empty (not under systemd,
    /// or a unit that is not `Type=notify`), an error when it names one that cannot be reached.
    pub fn from_env() -> Result<Option<Notifier>, String> {
        let Some(address) = std::env::var_os("NOTIFY_SOCKET").filter(|a| !a.is_empty()) else {
            return Ok(None);
        };
        let text = address.to_string_lossy().into_owned();
        Notifier::connect(address.as_encoded_bytes())
            .map(Some)
            .map_err(|e| format!("NOTIFY_SOCKET={text}: {e}"))
    }

    /// Connects to `address`: a path, or `@name` for the abstract namespace (`@` stands for
    /// the leading NUL octet).
    pub fn connect(address: &[u8]) -> io::Result<Notifier> {
        let addr = match address.strip_prefix(b"@") {
            Some(name) => abstract_address(name)?,
            None if address.starts_with(b"/") => {
                use std::os::unix::ffi::OsStrExt;
                SocketAddr::from_pathname(std::ffi::OsStr::from_bytes(address))?
            }
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "neither an absolute path nor an @abstract address",
                ))
            }
        };
        let socket = UnixDatagram::unbound()?;
        socket.connect_addr(&addr)?;
        Ok(Notifier { socket })
    }

    /// `READY=1` with a one-line status.
    pub fn ready(&self, status: &str) -> io::Result<()> {
        self.send(&format!("READY=1\nSTATUS={}\n", one_line(status)))
    }

    /// `STOPPING=1` with a one-line status.
    pub fn stopping(&self, status: &str) -> io::Result<()> {
        self.send(&format!("STOPPING=1\nSTATUS={}\n", one_line(status)))
    }

    fn send(&self, message: &str) -> io::Result<()> {
        let sent = self.socket.send(message.as_bytes())?;
        if sent != message.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the notification was cut short",
            ));
        }
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn abstract_address(name: &[u8]) -> io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(target_os = "linux"))]
fn abstract_address(_: &[u8]) -> io::Result<SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract socket addresses are Linux only",
    ))
}

/// A STATUS= value is one line: a newline would start another assignment.
fn one_line(status: &str) -> String {
    status.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn receive(socket: &UnixDatagram) -> String {
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).expect("a notification");
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn notifies_a_path_socket() {
        let dir = std::env::temp_dir().join(format!("lessor-notify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::connect(path.to_str().unwrap().as_bytes()).unwrap();
        n.ready("2 binding(s)\nloaded").unwrap();
        assert_eq!(receive(&listener), "READY=1\nSTATUS=2 binding(s) loaded\n");
        n.stopping("stopping").unwrap();
        assert_eq!(receive(&listener), "STOPPING=1\nSTATUS=stopping\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn notifies_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("lessor-notify-test-{}", std::process::id());
        let listener =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        let n = Notifier::connect(format!("@{name}").as_bytes()).unwrap();
        n.ready("up").unwrap();
        assert_eq!(receive(&listener), "READY=1\nSTATUS=up\n");
    }

    #[test]
    fn refuses_what_is_no_socket_address() {
        assert!(Notifier::connect(b"relative/notify").is_err());
        assert!(Notifier::connect(b"/nonexistent/lessor/notify").is_err());
    }
}
