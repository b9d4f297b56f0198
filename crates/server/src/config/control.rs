//! `[control]` resolved: the control socket's path, and the HTTP control API's address with the
//! token read from `token-file` at load (a token file that is missing, unreadable or empty is a
//! config error at `token-file`, so a server never starts with an API nobody can use, or anybody
//! can).

use super::schema;
use super::validate::Finding;
use lessor_config::KeyPath;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The longest token file read: a token is a line, not a document.
pub const MAX_TOKEN_FILE: u64 = 4096;

/// `[control]` as the server uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    /// The Unix control socket.
    pub socket: Option<PathBuf>,
    /// The HTTP control API's address and the token it requires.
    pub http: Option<(SocketAddr, Token)>,
}

/// A bearer token. Never printed: its `Debug` says only how long it is.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Vec<u8>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({} octets)", self.0.len())
    }
}

impl Token {
    /// A token of these octets (tests, tools).
    pub fn new(octets: impl Into<Vec<u8>>) -> Token {
        Token(octets.into())
    }

    /// Whether `given` is this token, in time that depends on neither's content (only on the
    /// lengths): a requester timing wrong guesses learns nothing of the token's octets.
    pub fn matches(&self, given: &[u8]) -> bool {
        let mut diff = u8::from(self.0.len() != given.len());
        for (i, a) in self.0.iter().enumerate() {
            // Compared against itself when `given` is shorter: the loop runs the token's length.
            let b = given.get(i).copied().unwrap_or(!*a);
            diff |= a ^ b;
        }
        diff == 0
    }
}

/// Resolves `[control]` (relative paths from `dir`), reading the token; mistakes go to `out`.
pub(super) fn resolve(c: &schema::Control, dir: &Path, out: &mut Vec<Finding>) -> Option<Control> {
    let root = KeyPath::default().key("control");
    let at = |p: &Path| {
        if p.is_relative() {
            dir.join(p)
        } else {
            p.to_path_buf()
        }
    };
    if c.socket.as_ref().is_some_and(|s| s.as_os_str().is_empty()) {
        out.push((
            root.key("socket"),
            "an empty socket path: remove socket to turn the control socket off".into(),
        ));
    }
    let http = match (c.http_listen, &c.token_file) {
        (None, None) => None,
        (None, Some(_)) => {
            out.push((
                root.key("token-file"),
                "token-file is the HTTP control API's: set http-listen too, or remove it".into(),
            ));
            None
        }
        (Some(_), None) => {
            out.push((
                root.key("http-listen"),
                "the HTTP control API needs a token: set token-file to a file holding it".into(),
            ));
            None
        }
        (Some(addr), Some(file)) => match read_token(&at(file)) {
            Ok(token) => Some((addr, token)),
            Err(why) => {
                out.push((root.key("token-file"), why));
                None
            }
        },
    };
    Some(Control {
        socket: c.socket.as_deref().map(at),
        http,
    })
}

/// The token in `path`: its content without surrounding white space.
fn read_token(path: &Path) -> Result<Token, String> {
    use std::io::Read;
    let mut text = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_TOKEN_FILE + 1).read_to_end(&mut text))
        .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?;
    if text.len() as u64 > MAX_TOKEN_FILE {
        return Err(format!(
            "the token file {} is longer than {MAX_TOKEN_FILE} octets: it should hold one token",
            path.display()
        ));
    }
    let token = text.trim_ascii();
    if token.is_empty() {
        return Err(format!(
            "the token file {} is empty: put a long random token in it",
            path.display()
        ));
    }
    Ok(Token(token.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_only_itself() {
        let t = Token::new(b"s3cret".to_vec());
        assert!(t.matches(b"s3cret"));
        assert!(!t.matches(b"s3cre"));
        assert!(!t.matches(b"s3crex"));
        assert!(!t.matches(b"s3cret!"));
        assert!(!t.matches(b""));
        assert_eq!(format!("{t:?}"), "Token(6 octets)");
    }

    fn parse(text: &str) -> Result<super::super::Config, String> {
        super::super::parse(text, "c.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn http_listen_needs_a_readable_non_empty_token_file() {
        let dir = std::env::temp_dir().join(format!("lessor-control-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = parse("[control]\nhttp-listen = \"127.0.0.1:9421\"\n").unwrap_err();
        assert!(
            e.contains("c.toml:2") && e.contains("control.http-listen") && e.contains("token"),
            "{e}"
        );
        let missing = dir.join("nope");
        let e = parse(&format!(
            "[control]\nhttp-listen = \"127.0.0.1:9421\"\ntoken-file = \"{}\"\n",
            missing.display()
        ))
        .unwrap_err();
        assert!(
            e.contains("c.toml:3") && e.contains("cannot read the token file"),
            "{e}"
        );
        let empty = dir.join("empty");
        std::fs::write(&empty, " \n").unwrap();
        let e = parse(&format!(
            "[control]\nhttp-listen = \"127.0.0.1:9421\"\ntoken-file = \"{}\"\n",
            empty.display()
        ))
        .unwrap_err();
        assert!(e.contains("is empty"), "{e}");
        let good = dir.join("token");
        std::fs::write(&good, "abc123\n").unwrap();
        let c = parse(&format!(
            "[control]\nsocket = \"/run/lessor/control.sock\"\nhttp-listen = \"127.0.0.1:9421\"\n\
             token-file = \"{}\"\n",
            good.display()
        ))
        .unwrap();
        let control = c.control.unwrap();
        assert_eq!(
            control.socket.as_deref(),
            Some(Path::new("/run/lessor/control.sock"))
        );
        let (addr, token) = control.http.unwrap();
        assert_eq!(addr.to_string(), "127.0.0.1:9421");
        assert!(token.matches(b"abc123"));
        let e = parse("[control]\ntoken-file = \"x\"\n").unwrap_err();
        assert!(e.contains("set http-listen too"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
