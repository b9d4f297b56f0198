//! The relay's own identifier, sent as option 82 sub-option 12 (RFC 6925) and, in DHCPv6, as
//! OPTION_RELAY_ID (RFC 5460): the key the servers index this relay's bindings by, and the key of
//! the bulk leasequery that recovers them after a restart. It must therefore outlive the process.
//!
//! It is a DUID. Configured (`[relay] relay-id`), it is used as written, so a replacement box
//! takes over the old one's bindings. Otherwise one is generated once, a DUID-UUID (type 4,
//! RFC 6355) from 128 random bits, and kept in `state-dir/relay-id`: unlike a DUID-LLT it does not
//! depend on which interface holds which hardware address at first start, nor publish one, and
//! its stability comes from being kept, not from the hardware (docs/protocol.md decision 32).
//!
//! The file is written atomically (temporary file, fsync, rename, fsync of the directory) and
//! read back at every start. One that cannot be read or does not hold a DUID is an error naming
//! it: silently replacing it would orphan every binding the servers hold under the old id.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The file in `state-dir` the generated relay-id is kept in.
pub const FILE_NAME: &str = "relay-id";

/// DUID-UUID's type code (RFC 6355).
pub const DUID_UUID: u16 = 4;

/// Where the relay-id in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provenance {
    /// `[relay] relay-id`.
    Configured,
    /// Read back from this file.
    Kept(PathBuf),
    /// Generated now and written to this file.
    Generated(PathBuf),
}

/// Why the relay-id could not be had.
#[derive(Debug)]
pub enum RelayIdError {
    Read { path: PathBuf, source: io::Error },
    Corrupt { path: PathBuf, reason: String },
    Write { path: PathBuf, source: io::Error },
    Random(io::Error),
}

impl fmt::Display for RelayIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelayIdError::Read { path, source } => {
                write!(f, "relay-id file {}: cannot read: {source}", path.display())
            }
            RelayIdError::Corrupt { path, reason } => write!(
                f,
                "relay-id file {}: {reason} (not replaced: the servers know this relay by it; \
                 fix it, or set [relay] relay-id, or remove it to start as a new relay)",
                path.display()
            ),
            RelayIdError::Write { path, source } => {
                write!(
                    f,
                    "relay-id file {}: cannot write: {source}",
                    path.display()
                )
            }
            RelayIdError::Random(e) => write!(f, "no random octets for a relay-id: {e}"),
        }
    }
}

impl std::error::Error for RelayIdError {}

/// A DUID-UUID from 16 random octets, marked as a version 4 (random) UUID (RFC 4122 §4.4).
pub fn duid_uuid(mut random: [u8; 16]) -> Vec<u8> {
    random[6] = (random[6] & 0x0f) | 0x40;
    random[8] = (random[8] & 0x3f) | 0x80;
    let mut duid = DUID_UUID.to_be_bytes().to_vec();
    duid.extend_from_slice(&random);
    duid
}

/// The relay-id: `configured` if given, else the one kept in `state_dir`, else a new one
/// written there (the directory is made if missing).
pub fn load_or_create(
    state_dir: &Path,
    configured: Option<&[u8]>,
) -> Result<(Vec<u8>, Provenance), RelayIdError> {
    if let Some(id) = configured {
        return Ok((id.to_vec(), Provenance::Configured));
    }
    let path = state_dir.join(FILE_NAME);
    match fs::read_to_string(&path) {
        Ok(text) => {
            return parse(&text)
                .map(|id| (id, Provenance::Kept(path.clone())))
                .map_err(|reason| RelayIdError::Corrupt { path, reason })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(RelayIdError::Read { path, source }),
    }
    let mut random = [0u8; 16];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut random))
        .map_err(RelayIdError::Random)?;
    let id = duid_uuid(random);
    write_atomically(state_dir, &path, &id).map_err(|source| RelayIdError::Write {
        path: path.clone(),
        source,
    })?;
    Ok((id, Provenance::Generated(path)))
}

/// The file's text: the DUID as colon-separated hex, one line.
fn parse(text: &str) -> Result<Vec<u8>, String> {
    let id = lessor_wire::hex::parse(text.trim())
        .map_err(|e| format!("does not hold a DUID in hex: {e}"))?;
    if !(3..=130).contains(&id.len()) {
        return Err(format!(
            "holds {} octets: a DUID has 3 to 130 (RFC 8415 §11)",
            id.len()
        ));
    }
    Ok(id)
}

fn write_atomically(dir: &Path, path: &Path, id: &[u8]) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(".{FILE_NAME}.tmp"));
    {
        let mut f = fs::File::create(&temporary)?;
        writeln!(f, "{}", lessor_wire::hex::colon(id))?;
        f.sync_all()?;
    }
    fs::rename(&temporary, path)?;
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lessor-relay-id-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn generated_once_then_read_back() {
        let d = dir("once");
        let (a, how) = load_or_create(&d, None).unwrap();
        assert_eq!(how, Provenance::Generated(d.join(FILE_NAME)));
        assert_eq!(a.len(), 18);
        assert_eq!(&a[..2], &[0, 4]);
        assert_eq!(a[8] >> 4, 4, "a version 4 UUID");
        let (b, how) = load_or_create(&d, None).unwrap();
        assert_eq!((b, how), (a.clone(), Provenance::Kept(d.join(FILE_NAME))));
        // Nothing is left of the temporary file.
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_configured_id_wins_and_writes_nothing() {
        let d = dir("configured");
        let (id, how) = load_or_create(&d, Some(&[0, 4, 9])).unwrap();
        assert_eq!((id, how), (vec![0, 4, 9], Provenance::Configured));
        assert!(!d.exists());
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it_and_is_kept() {
        let d = dir("corrupt");
        fs::create_dir_all(&d).unwrap();
        let path = d.join(FILE_NAME);
        for text in ["not hex\n", "00:04\n", ""] {
            fs::write(&path, text).unwrap();
            let e = load_or_create(&d, None).unwrap_err();
            assert!(matches!(e, RelayIdError::Corrupt { .. }), "{e}");
            assert!(e.to_string().contains(&path.display().to_string()), "{e}");
            assert_eq!(fs::read_to_string(&path).unwrap(), text);
        }
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_unreadable_file_is_an_error_naming_it() {
        let d = dir("unreadable");
        // A directory where the file should be: reading it fails with something else than
        // "not found".
        fs::create_dir_all(d.join(FILE_NAME)).unwrap();
        let e = load_or_create(&d, None).unwrap_err();
        assert!(matches!(e, RelayIdError::Read { .. }), "{e}");
        assert!(e.to_string().contains("relay-id file"), "{e}");
        fs::remove_dir_all(&d).unwrap();
    }
}
