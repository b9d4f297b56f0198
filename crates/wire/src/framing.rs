//! TCP framing of bulk leasequery streams (draft, RFC 6926, RFC 5460).
