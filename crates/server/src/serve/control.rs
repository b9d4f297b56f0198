//! The control API's transports ([`crate::control`] decides every answer):
//! - the Unix control socket (`[control] socket`): one JSON request per line, one JSON answer
//!   per line, as the relay's; mode 0600 and given to `[server] user`; lines of at most
//!   [`MAX_REQUEST`] octets; a thread per client, at most [`MAX_CLIENTS`] at once, each idle
//!   at most [`IDLE`].
//! - the HTTP API (`[control] http-listen`, served by [`super::http`] with its bounds):
//!   `POST /v1/<command>` with the request's other fields as a JSON object body,
//!   `Authorization: Bearer TOKEN` (compared in constant time; 401 without it or with another,
//!   before a byte of the body is read), bodies of at most [`MAX_REQUEST`] octets (413).
//!
//! Neither touches a DHCP socket or holds an engine's lock longer than one lease-delete: the
//! packet path never waits for a control client.

use super::http::{self, Handler, Head, Next, Response};
use super::{Reloader, ServeError};
use crate::config::control::Token;
use crate::control::request::MAX_REQUEST;
use crate::control::{refusal, Control, Shell};
use lessor_net::process::Account;
use lessor_net::Clock;
use serde_json::Value;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Most control socket clients served at once; one more is answered an error and closed.
pub const MAX_CLIENTS: usize = 8;

/// How long a control socket client may stay silent before it is closed.
pub const IDLE: Duration = Duration::from_secs(30);

/// How often the accepting threads look at the stop flag.
const POLL: Duration = Duration::from_millis(100);

/// The transports' listeners, opened before the switch to `[server] user`.
#[derive(Default)]
pub(super) struct Listeners {
    unix: Option<(UnixListener, PathBuf)>,
    http: Option<(TcpListener, Token)>,
}

/// Opens what `[control]` names.
pub(super) fn open(config: &crate::config::Config) -> Result<Listeners, ServeError> {
    let mut out = Listeners::default();
    let Some(c) = &config.control else {
        return Ok(out);
    };
    if let Some(path) = &c.socket {
        out.unix = Some((bind_unix(path).map_err(ServeError::Sockets)?, path.clone()));
    }
    if let Some((addr, token)) = &c.http {
        let server = http::bind(*addr)
            .map_err(|e| ServeError::Sockets(format!("control http-listen {addr}: {e}")))?;
        out.http = Some((server, token.clone()));
    }
    Ok(out)
}

/// Listens at `path`: a stale socket left by a server that died is replaced, a live one is an
/// error (another server answers there).
fn bind_unix(path: &Path) -> Result<UnixListener, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("control socket {}: {e}", dir.display()))?;
    }
    if UnixStream::connect(path).is_ok() {
        return Err(format!(
            "control socket {}: another server is answering there",
            path.display()
        ));
    }
    let _ = std::fs::remove_file(path);
    let listener =
        UnixListener::bind(path).map_err(|e| format!("control socket {}: {e}", path.display()))?;
    // The socket deletes bindings and stops the server: its owner's only.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("control socket {}: {e}", path.display()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("control socket {}: {e}", path.display()))?;
    Ok(listener)
}

impl Listeners {
    /// Gives the control socket to `account` (the user the server switches to).
    pub(super) fn give_to(&self, account: &Account) -> Result<(), ServeError> {
        if let Some((_, path)) = &self.unix {
            account.chown(path).map_err(|e| {
                ServeError::Privileges(format!("chown {}: {e}; refusing to start", path.display()))
            })?;
        }
        Ok(())
    }

    /// What the log says of them.
    pub(super) fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some((_, path)) = &self.unix {
            out.push(format!("control: socket {}", path.display()));
        }
        if let Some((listener, _)) = &self.http {
            if let Ok(addr) = listener.local_addr() {
                out.push(format!("control: HTTP API on {addr}"));
            }
        }
        out
    }
}

/// What the control API asks of the shell: `reload` through the serve loop's [`Reloader`],
/// `shutdown` by a flag the serve loop watches beside its own.
pub(super) struct StopShell {
    pub(super) stop: Arc<AtomicBool>,
    reloader: Reloader,
}

impl StopShell {
    pub(super) fn new(reloader: Reloader) -> StopShell {
        StopShell {
            stop: Arc::default(),
            reloader,
        }
    }
}

impl Shell for StopShell {
    fn reload(&self) -> Result<String, String> {
        // Logged from the control thread: the log is the process's, whichever thread says.
        let outcome = self.reloader.reload_logged();
        outcome.map(|s| s.to_string()).map_err(|e| e.to_string())
    }

    fn shutdown(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The transports' threads.
pub(super) struct Running {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    path: Option<PathBuf>,
}

impl Running {
    /// Stops accepting, waits for the accepting threads, removes the socket file.
    pub(super) fn shutdown(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Starts a thread per transport.
pub(super) fn start(
    listeners: Listeners,
    control: Arc<Control>,
    clock: Clock,
) -> Result<Running, ServeError> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut running = Running {
        stop: Arc::clone(&stop),
        threads: Vec::new(),
        path: None,
    };
    if let Some((listener, path)) = listeners.unix {
        running.path = Some(path);
        let (control, stop) = (Arc::clone(&control), Arc::clone(&stop));
        let t = std::thread::Builder::new()
            .name("control socket".into())
            .spawn(move || accept_unix(&listener, &control, clock, &stop))
            .map_err(|e| ServeError::Thread(e.to_string()))?;
        running.threads.push(t);
    }
    if let Some((server, token)) = listeners.http {
        let (control, stop) = (Arc::clone(&control), Arc::clone(&stop));
        let t = std::thread::Builder::new()
            .name("control http".into())
            .spawn(move || {
                let api = Api {
                    token: &token,
                    control: &control,
                    clock,
                };
                let limits = http::Limits::with_body(MAX_REQUEST);
                http::serve(&server, "control", limits, &api, &stop);
            })
            .map_err(|e| ServeError::Thread(e.to_string()))?;
        running.threads.push(t);
    }
    Ok(running)
}

fn accept_unix(listener: &UnixListener, control: &Arc<Control>, clock: Clock, stop: &AtomicBool) {
    let clients = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((mut stream, _)) => {
                if clients.fetch_add(1, Ordering::AcqRel) >= MAX_CLIENTS {
                    clients.fetch_sub(1, Ordering::AcqRel);
                    let busy = refusal(format!("busy: {MAX_CLIENTS} control clients already"));
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                    let _ = writeln!(stream, "{busy}");
                    continue;
                }
                let (control, count) = (Arc::clone(control), Arc::clone(&clients));
                let spawned = std::thread::Builder::new()
                    .name("control client".into())
                    .spawn(move || {
                        let _ = client(stream, &control, clock);
                        count.fetch_sub(1, Ordering::AcqRel);
                    });
                if spawned.is_err() {
                    clients.fetch_sub(1, Ordering::AcqRel);
                }
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// One control socket client: a line in, a line out, until it closes or stays silent.
fn client(stream: UnixStream, control: &Control, clock: Clock) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IDLE))?;
    stream.set_write_timeout(Some(IDLE))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_REQUEST as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        if line.last() != Some(&b'\n') {
            // Longer than a request may be (or cut off): said, and closed.
            let too_long = refusal(format!(
                "a request is one line of at most {MAX_REQUEST} octets"
            ));
            writeln!(writer, "{too_long}")?;
            return Ok(());
        }
        let answer = control.answer(line.trim_ascii(), clock.now().wall);
        writeln!(writer, "{answer}")?;
    }
}

/// What the HTTP API answers: JSON, with the status of [`http_status`].
struct Api<'a> {
    token: &'a Token,
    control: &'a Control,
    clock: Clock,
}

fn json(status: u16, body: &Value) -> Response {
    let mut text = body.to_string();
    text.push('\n');
    Response::new(status, "application/json", text)
}

/// The command a path names: `/v1/<command>`.
fn command(path: &str) -> Option<&str> {
    path.strip_prefix("/v1/").filter(|c| !c.contains('/'))
}

impl Handler for Api<'_> {
    /// 401, 404, 405 before a byte of the body is read.
    fn head(&self, head: &Head<'_>) -> Next {
        let authorized = head
            .header("authorization")
            .and_then(|a| a.strip_prefix(b"Bearer "))
            .is_some_and(|given| self.token.matches(given.trim_ascii()));
        if !authorized {
            let why = refusal("unauthorized: send Authorization: Bearer TOKEN");
            return Next::Answer(json(401, &why));
        }
        if command(head.path).is_none() {
            return Next::Answer(json(404, &refusal("not found: POST /v1/<command>")));
        }
        if head.method != "POST" {
            let why = refusal("method not allowed: POST /v1/<command>");
            return Next::Answer(Response {
                extra: "Allow: POST\r\n",
                ..json(405, &why)
            });
        }
        Next::ReadBody
    }

    fn answer(&self, head: &Head<'_>, body: &[u8]) -> Response {
        let (status, answer) = match command(head.path) {
            Some(c) => http_answer(c, body, self.control, self.clock.now().wall),
            None => (404, refusal("not found: POST /v1/<command>")),
        };
        json(status, &answer)
    }

    fn refusal(&self, status: u16, why: &str) -> Response {
        json(status, &refusal(why))
    }
}

/// What an authorized `POST /v1/<command>` with `body` gets: its status and JSON answer.
fn http_answer(command: &str, body: &[u8], control: &Control, now: u64) -> (u16, Value) {
    let mut fields = match body.trim_ascii() {
        b"" => serde_json::Map::new(),
        text => match serde_json::from_slice::<Value>(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return (400, refusal("the body is a JSON object")),
            Err(e) => return (400, refusal(format!("not JSON: {e}"))),
        },
    };
    if fields.contains_key("request") {
        return (400, refusal("the command is in the path, not in the body"));
    }
    fields.insert("request".into(), Value::String(command.to_owned()));
    let answer = match crate::control::request::from_object(&fields) {
        Ok(r) => control.execute(&r, now),
        Err(e) => return (400, refusal(e)),
    };
    let status = if answer["ok"] == Value::Bool(true) {
        200
    } else {
        422
    };
    (status, answer)
}
