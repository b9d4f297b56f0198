//! Zero-copy, checked view over a DHCPv4 message (RFC 2131 §2, figure 1).

use std::net::Ipv4Addr;

use crate::{Error, Result};

/// Byte ranges of the fixed-format fields, RFC 2131 figure 1.
pub(crate) mod field {
    use core::ops::Range;

    pub const OP: usize = 0;
    pub const HTYPE: usize = 1;
    pub const HLEN: usize = 2;
    pub const HOPS: usize = 3;
    pub const XID: Range<usize> = 4..8;
    pub const SECS: Range<usize> = 8..10;
    pub const FLAGS: Range<usize> = 10..12;
    pub const CIADDR: Range<usize> = 12..16;
    pub const YIADDR: Range<usize> = 16..20;
    pub const SIADDR: Range<usize> = 20..24;
    pub const GIADDR: Range<usize> = 24..28;
    pub const CHADDR: Range<usize> = 28..44;
    pub const SNAME: Range<usize> = 44..108;
    pub const FILE: Range<usize> = 108..236;
    pub const MAGIC: Range<usize> = 236..240;
    pub const OPTIONS: usize = 240;
}

/// The magic cookie 99.130.83.99 that starts the options field (RFC 2131 §3).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];

/// Length of the fixed BOOTP header plus the magic cookie: the smallest DHCP message.
pub const HEADER_LEN: usize = field::OPTIONS;

/// The BROADCAST bit of `flags` (RFC 2131 §2, figure 2).
pub const FLAG_BROADCAST: u16 = 0x8000;

/// BOOTREQUEST `op` value.
pub const BOOTREQUEST: u8 = 1;
/// BOOTREPLY `op` value.
pub const BOOTREPLY: u8 = 2;

/// A read (and, over `AsMut`, write) view of a DHCPv4 message in a byte buffer.
///
/// Construct it with [`Packet::new_checked`] on untrusted input: after that no accessor panics.
/// Options are read with [`Packet::options`] (every wire instance, in order) or with the RFC 3396
/// lookups in `v4::lookup` (all instances of a code joined).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

fn read_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn read_ip(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without looking at it; accessors may panic if it is too short.
    /// Use for buffers this program built itself (e.g. in `emit`).
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after checking that every fixed field is present, that the magic cookie is
    /// 99.130.83.99 and that hlen fits chaddr (hlen <= 16).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// The checks of [`Packet::new_checked`].
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if b[field::MAGIC] != MAGIC_COOKIE {
            return Err(Error::BadMagicCookie);
        }
        if b[field::HLEN] > 16 {
            return Err(Error::BadLength);
        }
        Ok(())
    }

    /// Gives back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole buffer, as wrapped.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// `op`: 1 BOOTREQUEST, 2 BOOTREPLY.
    pub fn op(&self) -> u8 {
        self.buffer.as_ref()[field::OP]
    }

    /// `htype`: hardware address type (ARP hardware type, 1 = Ethernet).
    pub fn htype(&self) -> u8 {
        self.buffer.as_ref()[field::HTYPE]
    }

    /// `hlen`: hardware address length; at most 16 once checked.
    pub fn hlen(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// `hops`: incremented by each relay agent.
    pub fn hops(&self) -> u8 {
        self.buffer.as_ref()[field::HOPS]
    }

    /// `xid`: transaction ID chosen by the client (or requestor).
    pub fn xid(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::XID];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// `secs`: seconds since the client began acquisition or renewal.
    pub fn secs(&self) -> u16 {
        read_u16(&self.buffer.as_ref()[field::SECS])
    }

    /// `flags`, all 16 bits as sent.
    pub fn flags(&self) -> u16 {
        read_u16(&self.buffer.as_ref()[field::FLAGS])
    }

    /// The BROADCAST flag: the client cannot receive unicast before it is configured.
    pub fn broadcast(&self) -> bool {
        self.flags() & FLAG_BROADCAST != 0
    }

    /// `ciaddr`: client IP address (in a DHCPLEASEQUERY, the address queried).
    pub fn ciaddr(&self) -> Ipv4Addr {
        read_ip(&self.buffer.as_ref()[field::CIADDR])
    }

    /// `yiaddr`: "your" (client) IP address.
    pub fn yiaddr(&self) -> Ipv4Addr {
        read_ip(&self.buffer.as_ref()[field::YIADDR])
    }

    /// `siaddr`: next server to use in bootstrap.
    pub fn siaddr(&self) -> Ipv4Addr {
        read_ip(&self.buffer.as_ref()[field::SIADDR])
    }

    /// `giaddr`: relay agent IP address; where leasequery replies go.
    pub fn giaddr(&self) -> Ipv4Addr {
        read_ip(&self.buffer.as_ref()[field::GIADDR])
    }

    /// `chaddr`: all 16 octets, including the padding beyond `hlen`.
    pub fn chaddr(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out.copy_from_slice(&self.buffer.as_ref()[field::CHADDR]);
        out
    }

    /// The client hardware address: the first `hlen` octets of chaddr (hlen is clamped to 16 so
    /// this cannot panic even on an unchecked view of a full-length buffer).
    pub fn client_hw_addr(&self) -> &[u8] {
        let len = usize::from(self.hlen().min(16));
        let chaddr = &self.buffer.as_ref()[field::CHADDR];
        &chaddr[..len]
    }

    /// `sname`: server host name (or options, when overloaded), all 64 octets.
    pub fn sname(&self) -> &[u8] {
        &self.buffer.as_ref()[field::SNAME]
    }

    /// `file`: boot file name (or options, when overloaded), all 128 octets.
    pub fn file(&self) -> &[u8] {
        &self.buffer.as_ref()[field::FILE]
    }

    /// The magic cookie as found (99.130.83.99 once checked).
    pub fn magic_cookie(&self) -> [u8; 4] {
        let b = &self.buffer.as_ref()[field::MAGIC];
        [b[0], b[1], b[2], b[3]]
    }

    /// The raw options field: everything after the magic cookie, including any end option and
    /// trailing padding.
    pub fn options_field(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn buf_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets `op`.
    pub fn set_op(&mut self, v: u8) {
        self.buf_mut()[field::OP] = v;
    }

    /// Sets `htype`.
    pub fn set_htype(&mut self, v: u8) {
        self.buf_mut()[field::HTYPE] = v;
    }

    /// Sets `hlen` (the caller keeps it <= 16).
    pub fn set_hlen(&mut self, v: u8) {
        self.buf_mut()[field::HLEN] = v;
    }

    /// Sets `hops`.
    pub fn set_hops(&mut self, v: u8) {
        self.buf_mut()[field::HOPS] = v;
    }

    /// Sets `xid`.
    pub fn set_xid(&mut self, v: u32) {
        self.buf_mut()[field::XID].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets `secs`.
    pub fn set_secs(&mut self, v: u16) {
        self.buf_mut()[field::SECS].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets `flags`.
    pub fn set_flags(&mut self, v: u16) {
        self.buf_mut()[field::FLAGS].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets `ciaddr`.
    pub fn set_ciaddr(&mut self, v: Ipv4Addr) {
        self.buf_mut()[field::CIADDR].copy_from_slice(&v.octets());
    }

    /// Sets `yiaddr`.
    pub fn set_yiaddr(&mut self, v: Ipv4Addr) {
        self.buf_mut()[field::YIADDR].copy_from_slice(&v.octets());
    }

    /// Sets `siaddr`.
    pub fn set_siaddr(&mut self, v: Ipv4Addr) {
        self.buf_mut()[field::SIADDR].copy_from_slice(&v.octets());
    }

    /// Sets `giaddr`.
    pub fn set_giaddr(&mut self, v: Ipv4Addr) {
        self.buf_mut()[field::GIADDR].copy_from_slice(&v.octets());
    }

    /// Sets all 16 octets of `chaddr`.
    pub fn set_chaddr(&mut self, v: &[u8; 16]) {
        self.buf_mut()[field::CHADDR].copy_from_slice(v);
    }

    /// Sets all 64 octets of `sname`.
    pub fn set_sname(&mut self, v: &[u8; 64]) {
        self.buf_mut()[field::SNAME].copy_from_slice(v);
    }

    /// Sets all 128 octets of `file`.
    pub fn set_file(&mut self, v: &[u8; 128]) {
        self.buf_mut()[field::FILE].copy_from_slice(v);
    }

    /// Writes the magic cookie 99.130.83.99.
    pub fn set_magic_cookie(&mut self) {
        self.buf_mut()[field::MAGIC].copy_from_slice(&MAGIC_COOKIE);
    }

    /// `sname`, writable (to place overloaded options).
    pub fn sname_mut(&mut self) -> &mut [u8] {
        &mut self.buf_mut()[field::SNAME]
    }

    /// `file`, writable (to place overloaded options).
    pub fn file_mut(&mut self) -> &mut [u8] {
        &mut self.buf_mut()[field::FILE]
    }

    /// The options field after the magic cookie, writable.
    pub fn options_field_mut(&mut self) -> &mut [u8] {
        &mut self.buf_mut()[field::OPTIONS..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut b = vec![0u8; 244];
        b[0] = 1;
        b[1] = 1;
        b[2] = 6;
        b[3] = 2;
        b[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        b[8..10].copy_from_slice(&7u16.to_be_bytes());
        b[10] = 0x80;
        b[12..16].copy_from_slice(&[192, 0, 2, 1]);
        b[16..20].copy_from_slice(&[192, 0, 2, 2]);
        b[20..24].copy_from_slice(&[192, 0, 2, 3]);
        b[24..28].copy_from_slice(&[192, 0, 2, 4]);
        b[28..34].copy_from_slice(&[0, 0x11, 0x22, 0x33, 0x44, 0x55]);
        b[236..240].copy_from_slice(&MAGIC_COOKIE);
        b[240] = 255;
        b
    }

    #[test]
    fn reads_fixed_fields() {
        let b = sample();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.op(), 1);
        assert_eq!(p.htype(), 1);
        assert_eq!(p.hlen(), 6);
        assert_eq!(p.hops(), 2);
        assert_eq!(p.xid(), 0x1234_5678);
        assert_eq!(p.secs(), 7);
        assert_eq!(p.flags(), 0x8000);
        assert!(p.broadcast());
        assert_eq!(p.ciaddr(), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(p.yiaddr(), Ipv4Addr::new(192, 0, 2, 2));
        assert_eq!(p.siaddr(), Ipv4Addr::new(192, 0, 2, 3));
        assert_eq!(p.giaddr(), Ipv4Addr::new(192, 0, 2, 4));
        assert_eq!(p.client_hw_addr(), &[0, 0x11, 0x22, 0x33, 0x44, 0x55]);
        assert_eq!(p.chaddr()[6..], [0u8; 10]);
        assert_eq!(p.sname().len(), 64);
        assert_eq!(p.file().len(), 128);
        assert_eq!(p.options_field(), &[255, 0, 0, 0]);
    }

    #[test]
    fn rejects_short_bad_cookie_bad_hlen() {
        let b = sample();
        assert_eq!(
            Packet::new_checked(&b[..239]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(Packet::new_checked(&b[..0]).unwrap_err(), Error::Truncated);
        let mut c = b.clone();
        c[239] = 98;
        assert_eq!(
            Packet::new_checked(&c[..]).unwrap_err(),
            Error::BadMagicCookie
        );
        let mut d = b.clone();
        d[2] = 17;
        assert_eq!(Packet::new_checked(&d[..]).unwrap_err(), Error::BadLength);
        d[2] = 16;
        assert!(Packet::new_checked(&d[..]).is_ok());
        // Exactly header + cookie, no options at all, is acceptable.
        assert!(Packet::new_checked(&b[..240]).is_ok());
    }

    #[test]
    fn setters_write_what_getters_read() {
        let mut b = vec![0u8; 240];
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_op(BOOTREPLY);
        p.set_htype(1);
        p.set_hlen(6);
        p.set_hops(3);
        p.set_xid(42);
        p.set_secs(9);
        p.set_flags(FLAG_BROADCAST);
        p.set_ciaddr(Ipv4Addr::new(198, 51, 100, 1));
        p.set_yiaddr(Ipv4Addr::new(198, 51, 100, 2));
        p.set_siaddr(Ipv4Addr::new(198, 51, 100, 3));
        p.set_giaddr(Ipv4Addr::new(198, 51, 100, 4));
        p.set_chaddr(&[7; 16]);
        p.set_sname(&[1; 64]);
        p.set_file(&[2; 128]);
        p.set_magic_cookie();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.op(), BOOTREPLY);
        assert_eq!(p.hops(), 3);
        assert_eq!(p.xid(), 42);
        assert_eq!(p.secs(), 9);
        assert!(p.broadcast());
        assert_eq!(p.giaddr(), Ipv4Addr::new(198, 51, 100, 4));
        assert_eq!(p.chaddr(), [7; 16]);
        assert_eq!(p.sname(), &[1; 64][..]);
        assert_eq!(p.file(), &[2; 128][..]);
    }
}
