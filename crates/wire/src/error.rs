//! The one error type of every parser in this crate.

use core::fmt;

/// Why a buffer could not be read (or a representation could not be written).
///
/// Variants name what was wrong, not where the buffer came from: callers add context
/// (peer address, counter) themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The buffer ends before a field or option that it announces.
    Truncated,
    /// The DHCPv4 magic cookie is not 99.130.83.99.
    BadMagicCookie,
    /// A length field disagrees with the data (e.g. hlen > 16, an address list not a multiple of 4).
    BadLength,
    /// A field holds a value the protocol does not allow (e.g. op not 1 or 2).
    BadValue,
    /// Options or relay messages are nested deeper than the parser allows.
    TooDeep,
    /// A message or frame is larger than the configured maximum.
    TooLarge,
    /// The output buffer is too small for `emit`.
    BufferTooSmall,
    /// A bulk leasequery stream's first frame matches neither dialect.
    UnknownDialect,
}

/// Result of every parse in this crate.
pub type Result<T> = core::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "message truncated",
            Error::BadMagicCookie => "bad DHCP magic cookie",
            Error::BadLength => "bad length field",
            Error::BadValue => "field value not allowed",
            Error::TooDeep => "nesting too deep",
            Error::TooLarge => "message too large",
            Error::BufferTooSmall => "output buffer too small",
            Error::UnknownDialect => "unknown bulk leasequery framing",
        })
    }
}

impl std::error::Error for Error {}
