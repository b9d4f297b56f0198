//! DHCP Unique Identifiers (RFC 8415 §11, RFC 6355 for DUID-UUID).

use core::fmt;

use super::cursor::{Reader, Writer};
use crate::{Error, Result};

/// DUID-LLT: link-layer address plus time (RFC 8415 §11.2).
pub const DUID_LLT: u16 = 1;
/// DUID-EN: enterprise number plus identifier (RFC 8415 §11.3).
pub const DUID_EN: u16 = 2;
/// DUID-LL: link-layer address (RFC 8415 §11.4).
pub const DUID_LL: u16 = 3;
/// DUID-UUID (RFC 6355).
pub const DUID_UUID: u16 = 4;

/// Shortest DUID on the wire: the 2-octet type plus at least 1 octet (RFC 8415 §11.1).
pub const MIN_LEN: usize = 3;
/// Longest DUID on the wire: the 2-octet type plus at most 128 octets (RFC 8415 §11.1).
pub const MAX_LEN: usize = 130;

/// A DUID, split by type where the type's layout is known.
///
/// RFC 8415 §11 says DUIDs are opaque and must be compared only for equality, and that other
/// types may appear. So a DUID whose type is known but whose length does not fit that type's
/// layout (e.g. a DUID-UUID that is not 16 octets) is *not* an error: it becomes
/// [`Duid::Other`] with the bytes as received, and emits back byte for byte. Only the length
/// bounds of §11.1 (1 to 128 octets after the type) are enforced, on parse and on emit.
///
/// Two representations of the same bytes are possible ([`Duid::Other`] with a known type and a
/// fitting length); parsing always produces the typed one. Compare DUIDs through
/// [`Duid::to_vec`] when the source of a value is not a parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Duid {
    /// DUID-LLT (type 1): hardware type, time (seconds since 2000-01-01 UTC mod 2^32) and a
    /// link-layer address.
    Llt {
        /// IANA hardware type (1 = Ethernet).
        hardware_type: u16,
        /// When the DUID was generated.
        time: u32,
        /// The link-layer address.
        link_layer_address: Vec<u8>,
    },
    /// DUID-EN (type 2): IANA enterprise number plus an identifier the enterprise assigns.
    En {
        /// IANA private enterprise number.
        enterprise_number: u32,
        /// The vendor's identifier.
        identifier: Vec<u8>,
    },
    /// DUID-LL (type 3): hardware type and a link-layer address.
    Ll {
        /// IANA hardware type (1 = Ethernet).
        hardware_type: u16,
        /// The link-layer address.
        link_layer_address: Vec<u8>,
    },
    /// DUID-UUID (type 4, RFC 6355): a 128-bit UUID.
    Uuid([u8; 16]),
    /// Any other type, or a known type whose length does not fit its layout.
    Other {
        /// DUID-type.
        duid_type: u16,
        /// Everything after the type.
        data: Vec<u8>,
    },
}

impl Duid {
    /// Parses a whole DUID (an OPTION_CLIENTID, OPTION_SERVERID or OPTION_RELAY_ID body).
    ///
    /// [`Error::BadLength`] outside [`MIN_LEN`]..=[`MAX_LEN`].
    pub fn parse(bytes: &[u8]) -> Result<Duid> {
        if !(MIN_LEN..=MAX_LEN).contains(&bytes.len()) {
            return Err(Error::BadLength);
        }
        let mut r = Reader::new(bytes);
        let duid_type = r.u16()?;
        let data = r.rest();
        Ok(Self::typed(duid_type, data).unwrap_or_else(|| Duid::Other {
            duid_type,
            data: data.to_vec(),
        }))
    }

    /// The typed form, if `data` fits the layout of `duid_type`.
    fn typed(duid_type: u16, data: &[u8]) -> Option<Duid> {
        let mut r = Reader::new(data);
        Some(match duid_type {
            DUID_LLT => Duid::Llt {
                hardware_type: r.u16().ok()?,
                time: r.u32().ok()?,
                link_layer_address: r.rest().to_vec(),
            },
            DUID_EN => Duid::En {
                enterprise_number: r.u32().ok()?,
                identifier: r.rest().to_vec(),
            },
            DUID_LL => Duid::Ll {
                hardware_type: r.u16().ok()?,
                link_layer_address: r.rest().to_vec(),
            },
            DUID_UUID => Duid::Uuid(data.try_into().ok()?),
            _ => return None,
        })
    }

    /// DUID-type.
    pub fn duid_type(&self) -> u16 {
        match self {
            Duid::Llt { .. } => DUID_LLT,
            Duid::En { .. } => DUID_EN,
            Duid::Ll { .. } => DUID_LL,
            Duid::Uuid(_) => DUID_UUID,
            Duid::Other { duid_type, .. } => *duid_type,
        }
    }

    /// Octets on the wire, type included.
    pub fn buffer_len(&self) -> usize {
        2 + match self {
            Duid::Llt {
                link_layer_address, ..
            } => 6 + link_layer_address.len(),
            Duid::En { identifier, .. } => 4 + identifier.len(),
            Duid::Ll {
                link_layer_address, ..
            } => 2 + link_layer_address.len(),
            Duid::Uuid(_) => 16,
            Duid::Other { data, .. } => data.len(),
        }
    }

    /// Writes the DUID; [`Error::BadLength`] if it breaks the bounds of RFC 8415 §11.1,
    /// [`Error::BufferTooSmall`] if `buf` is short. Returns the octets written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        self.write(&mut w)?;
        Ok(w.len())
    }

    /// The wire form. Panics only if the DUID breaks the §11.1 length bounds (a caller bug:
    /// nothing parsed can).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0; self.buffer_len()];
        let n = self
            .emit(&mut out)
            .expect("DUID length outside RFC 8415 §11.1 bounds");
        out.truncate(n);
        out
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        if !(MIN_LEN..=MAX_LEN).contains(&self.buffer_len()) {
            return Err(Error::BadLength);
        }
        w.u16(self.duid_type())?;
        match self {
            Duid::Llt {
                hardware_type,
                time,
                link_layer_address,
            } => {
                w.u16(*hardware_type)?;
                w.u32(*time)?;
                w.bytes(link_layer_address)
            }
            Duid::En {
                enterprise_number,
                identifier,
            } => {
                w.u32(*enterprise_number)?;
                w.bytes(identifier)
            }
            Duid::Ll {
                hardware_type,
                link_layer_address,
            } => {
                w.u16(*hardware_type)?;
                w.bytes(link_layer_address)
            }
            Duid::Uuid(uuid) => w.bytes(uuid),
            Duid::Other { data, .. } => w.bytes(data),
        }
    }
}

/// Colon-separated hex of the wire form, the way operators and ISC/Kea logs show DUIDs.
impl fmt::Display for Duid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = [0u8; MAX_LEN];
        let Ok(n) = self.emit(&mut bytes) else {
            return f.write_str("<invalid DUID>");
        };
        for (i, b) in bytes.iter().take(n).enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llt_from_rfc_layout() {
        let bytes = [
            0, 1, 0, 1, 0x1c, 0x39, 0xcf, 0x88, 0x08, 0, 0x27, 0xfe, 0x8f, 0x95,
        ];
        let duid = Duid::parse(&bytes).unwrap();
        assert_eq!(
            duid,
            Duid::Llt {
                hardware_type: 1,
                time: 0x1c39_cf88,
                link_layer_address: vec![0x08, 0, 0x27, 0xfe, 0x8f, 0x95],
            }
        );
        assert_eq!(duid.to_vec(), bytes);
        assert_eq!(
            duid.to_string(),
            "00:01:00:01:1c:39:cf:88:08:00:27:fe:8f:95"
        );
    }

    #[test]
    fn en_ll_uuid() {
        let en = [0, 2, 0, 0, 0x9d, 0x10, 1, 2, 3];
        assert_eq!(
            Duid::parse(&en).unwrap(),
            Duid::En {
                enterprise_number: 40208,
                identifier: vec![1, 2, 3]
            }
        );
        let ll = [0, 3, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];
        assert_eq!(
            Duid::parse(&ll).unwrap(),
            Duid::Ll {
                hardware_type: 1,
                link_layer_address: vec![0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]
            }
        );
        let mut uuid = vec![0, 4];
        uuid.extend(1..=16u8);
        let parsed = Duid::parse(&uuid).unwrap();
        assert!(matches!(parsed, Duid::Uuid(u) if u[0] == 1 && u[15] == 16));
        assert_eq!(parsed.to_vec(), uuid);
    }

    #[test]
    fn known_type_with_wrong_length_falls_back_to_other_and_roundtrips() {
        for bytes in [
            vec![0u8, 1, 0, 1, 0, 0, 0],     // LLT without a whole time field
            vec![0, 2, 0, 0, 9],             // EN without a whole enterprise number
            vec![0, 3, 1],                   // LL without a whole hardware type
            vec![0, 4, 1, 2, 3, 4, 5, 6, 7], // UUID not 16 octets
            vec![0, 9, 1, 2],                // unknown type
        ] {
            let duid = Duid::parse(&bytes).unwrap();
            assert!(matches!(duid, Duid::Other { .. }), "{bytes:?}");
            assert_eq!(duid.to_vec(), bytes);
        }
    }

    #[test]
    fn length_bounds() {
        assert_eq!(Duid::parse(&[]), Err(Error::BadLength));
        assert_eq!(Duid::parse(&[0, 1]), Err(Error::BadLength));
        let mut long = vec![0u8, 2];
        long.extend([7u8; 128]);
        assert!(Duid::parse(&long).is_ok());
        long.push(7);
        assert_eq!(Duid::parse(&long), Err(Error::BadLength));

        let empty = Duid::Other {
            duid_type: 9,
            data: vec![],
        };
        assert_eq!(empty.emit(&mut [0u8; 8]), Err(Error::BadLength));
        let big = Duid::En {
            enterprise_number: 1,
            identifier: vec![0; 125],
        };
        assert_eq!(big.emit(&mut [0u8; 200]), Err(Error::BadLength));
        assert_eq!(
            Duid::Uuid([0; 16]).emit(&mut [0u8; 17]),
            Err(Error::BufferTooSmall)
        );
    }
}
