//! The client hardware address of a DHCPv4 message: `htype`, `hlen` and the first `hlen`
//! octets of `chaddr` (RFC 2131 §2), as one value that cannot hold more than `chaddr` does.

use core::fmt;

/// The most octets `chaddr` holds (RFC 2131 §2).
pub const MAX_CHADDR_LEN: usize = 16;

/// A hardware address: htype and up to 16 octets of chaddr (hlen is the length of the slice).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HwAddr {
    htype: u8,
    hlen: u8,
    chaddr: [u8; MAX_CHADDR_LEN],
}

/// A hardware address longer than `chaddr` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HwAddrTooLong(pub usize);

impl fmt::Display for HwAddrTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "hardware address of {} octets is longer than {MAX_CHADDR_LEN}",
            self.0
        )
    }
}

impl std::error::Error for HwAddrTooLong {}

impl HwAddr {
    /// `htype` (1 = Ethernet) and the first hlen octets of chaddr; at most 16.
    pub fn new(htype: u8, chaddr: &[u8]) -> Result<HwAddr, HwAddrTooLong> {
        if chaddr.len() > MAX_CHADDR_LEN {
            return Err(HwAddrTooLong(chaddr.len()));
        }
        let mut buf = [0u8; MAX_CHADDR_LEN];
        buf[..chaddr.len()].copy_from_slice(chaddr);
        Ok(HwAddr {
            htype,
            // At most 16: checked above.
            hlen: chaddr.len() as u8,
            chaddr: buf,
        })
    }

    /// An Ethernet (htype 1) MAC address.
    pub fn ethernet(mac: [u8; 6]) -> HwAddr {
        let mut buf = [0u8; MAX_CHADDR_LEN];
        buf[..6].copy_from_slice(&mac);
        HwAddr {
            htype: 1,
            hlen: 6,
            chaddr: buf,
        }
    }

    /// The hardware type.
    pub fn htype(&self) -> u8 {
        self.htype
    }

    /// hlen: the number of significant chaddr octets.
    pub fn hlen(&self) -> u8 {
        self.hlen
    }

    /// The significant chaddr octets.
    pub fn chaddr(&self) -> &[u8] {
        &self.chaddr[..usize::from(self.hlen)]
    }

    /// Whether no chaddr octet is set: such an address identifies no client (RFC 4388 §6.3).
    pub fn is_zero(&self) -> bool {
        self.chaddr().iter().all(|&b| b == 0)
    }

    /// htype followed by the significant chaddr octets, in a fixed buffer, and how many of its
    /// octets count: a key to index bindings by hardware address without allocating.
    pub fn key_bytes(&self) -> ([u8; 1 + MAX_CHADDR_LEN], usize) {
        let mut k = [0u8; 1 + MAX_CHADDR_LEN];
        k[0] = self.htype;
        k[1..].copy_from_slice(&self.chaddr);
        (k, 1 + usize::from(self.hlen))
    }
}

impl fmt::Debug for HwAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/", self.htype)?;
        for (i, b) in self.chaddr().iter().enumerate() {
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
    fn hwaddr_limits() {
        assert!(HwAddr::new(1, &[0; 17]).is_err());
        assert_eq!(HwAddr::new(1, &[0; 17]), Err(HwAddrTooLong(17)));
        let h = HwAddr::new(6, &[1, 2, 3]).unwrap();
        assert_eq!(h.chaddr(), &[1, 2, 3]);
        assert_eq!(h.hlen(), 3);
        assert_eq!(format!("{h:?}"), "6/01:02:03");
        assert!(HwAddr::new(1, &[0; 6]).unwrap().is_zero());
        assert!(!h.is_zero());
    }

    #[test]
    fn key_bytes_are_htype_then_chaddr() {
        let (k, n) = HwAddr::new(6, &[1, 2, 3]).unwrap().key_bytes();
        assert_eq!(&k[..n], &[6, 1, 2, 3]);
    }
}
