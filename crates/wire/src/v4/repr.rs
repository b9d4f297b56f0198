//! The owned, typed representation of a DHCPv4 message, with `parse` and `emit`.
//!
//! Parsing follows RFC 3396: all instances of one code are joined into one option, placed where
//! the first instance was (order of first appearance kept). Options carried in `file` and `sname`
//! under Option Overload (52) are read in the RFC 3396 order (options field, file, sname); the
//! overload option itself is then dropped and the overloaded fields are zeroed in the `Repr`, since
//! they held options and not a file or server name. Use the [`Packet`] view when every wire
//! instance matters.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use super::code;
use super::message_type::MessageType;
use super::option::{DhcpOption, Value};
use super::options::{OVERLOAD_FILE, OVERLOAD_SNAME};
use super::packet::{Packet, BOOTREQUEST, HEADER_LEN};
use super::relay_agent::RelayAgentInformation;
use crate::{Error, Result};

/// An owned DHCPv4 message: the fixed BOOTP fields (RFC 2131 §2) and typed options.
///
/// `options` should hold each code at most once: `emit` writes them in order as given (splitting
/// values longer than 255 octets into consecutive instances), and `parse` joins repeated codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repr {
    /// `op`: 1 BOOTREQUEST, 2 BOOTREPLY.
    pub op: u8,
    /// `htype`: hardware address type.
    pub htype: u8,
    /// `hlen`: hardware address length (<= 16; a larger value is written as given, and
    /// [`Packet::new_checked`] rejects it on the way back in).
    pub hlen: u8,
    /// `hops`: relay agent hop count.
    pub hops: u8,
    /// `xid`: transaction ID.
    pub xid: u32,
    /// `secs`: seconds elapsed since the client began.
    pub secs: u16,
    /// `flags` (bit 15: BROADCAST).
    pub flags: u16,
    /// `ciaddr`: client IP address.
    pub ciaddr: Ipv4Addr,
    /// `yiaddr`: "your" IP address.
    pub yiaddr: Ipv4Addr,
    /// `siaddr`: next server IP address.
    pub siaddr: Ipv4Addr,
    /// `giaddr`: relay agent IP address.
    pub giaddr: Ipv4Addr,
    /// `chaddr`: client hardware address, all 16 octets.
    pub chaddr: [u8; 16],
    /// `sname`: server host name, all 64 octets (zero when it carried overloaded options).
    pub sname: [u8; 64],
    /// `file`: boot file name, all 128 octets (zero when it carried overloaded options).
    pub file: [u8; 128],
    /// Options in order of first appearance, one per code.
    pub options: Vec<DhcpOption>,
}

impl Default for Repr {
    /// A BOOTREQUEST for Ethernet (htype 1, hlen 6) with every other field zero and no options.
    fn default() -> Self {
        Repr {
            op: BOOTREQUEST,
            htype: 1,
            hlen: 6,
            hops: 0,
            xid: 0,
            secs: 0,
            flags: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: [0; 16],
            sname: [0; 64],
            file: [0; 128],
            options: Vec::new(),
        }
    }
}

/// Codes that are framing, not options: never written from `options`.
fn is_framing(code: u8) -> bool {
    matches!(code, code::PAD | code::END | code::OPTION_OVERLOAD)
}

/// Values up to this long are never split across overloaded areas (see `emit_with_max`).
const SHORT_VALUE: usize = 16;

/// Octets one option takes on the wire, RFC 3396 split included.
fn wire_len(value_len: usize) -> usize {
    if value_len == 0 {
        return 2;
    }
    let instances = value_len.div_ceil(255);
    value_len.saturating_add(instances.saturating_mul(2))
}

/// Writes option instances into one area (options field, file or sname).
struct Area<'b> {
    buf: &'b mut [u8],
    pos: usize,
    /// Octets usable for options (room for the end option is kept apart).
    cap: usize,
}

impl Area<'_> {
    fn room(&self) -> usize {
        self.cap.saturating_sub(self.pos)
    }

    /// Writes one instance carrying `len` value octets from `offset`.
    fn instance(&mut self, code: u8, value: &Value<'_>, offset: usize, len: usize) -> Result<()> {
        let len_octet = u8::try_from(len).map_err(|_| Error::BadLength)?;
        let end = self
            .pos
            .checked_add(2)
            .and_then(|s| s.checked_add(len))
            .ok_or(Error::BufferTooSmall)?;
        let out = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(Error::BufferTooSmall)?;
        let (head, body) = out.split_at_mut(2);
        head[0] = code;
        head[1] = len_octet;
        value.copy_to(offset, body);
        self.pos = end;
        Ok(())
    }

    /// Writes the whole option, split into instances of at most 255 octets.
    fn option(&mut self, code: u8, value: &Value<'_>) -> Result<()> {
        let total = value.len();
        if total == 0 {
            return self.instance(code, value, 0, 0);
        }
        let mut offset = 0;
        while offset < total {
            let n = (total - offset).min(255);
            self.instance(code, value, offset, n)?;
            offset += n;
        }
        Ok(())
    }

    fn end(&mut self) -> Result<()> {
        let slot = self.buf.get_mut(self.pos).ok_or(Error::BufferTooSmall)?;
        *slot = code::END;
        self.pos = self.pos.saturating_add(1);
        Ok(())
    }
}

impl Repr {
    /// Parses a checked view (see the module docs for how instances are joined).
    ///
    /// Errors: the view's own checks, a truncated option, an Option Overload that is not one
    /// octet of value 1-3 (BadLength/BadValue), or a joined value that does not fit its typed
    /// option (BadLength).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;

        // Join instances per code, in order of first appearance.
        let mut slot = [usize::MAX; 256];
        let mut joined: Vec<(u8, Cow<'_, [u8]>)> = Vec::new();
        for opt in packet.options() {
            let opt = opt?;
            let idx = &mut slot[usize::from(opt.code)];
            match joined.get_mut(*idx) {
                Some((_, value)) => value.to_mut().extend_from_slice(opt.data),
                None => {
                    *idx = joined.len();
                    joined.push((opt.code, Cow::Borrowed(opt.data)));
                }
            }
        }

        let mut sname = [0u8; 64];
        let mut file = [0u8; 128];
        sname.copy_from_slice(packet.sname());
        file.copy_from_slice(packet.file());
        if let Some(i) = joined.iter().position(|(c, _)| *c == code::OPTION_OVERLOAD) {
            let (_, value) = joined.remove(i);
            let overload = match *value {
                [v] => v,
                _ => return Err(Error::BadLength),
            };
            if !(1..=3).contains(&overload) {
                return Err(Error::BadValue);
            }
            if overload & OVERLOAD_FILE != 0 {
                file = [0; 128];
            }
            if overload & OVERLOAD_SNAME != 0 {
                sname = [0; 64];
            }
        }

        let options = joined
            .iter()
            .map(|(c, v)| DhcpOption::decode(*c, v))
            .collect::<Result<Vec<_>>>()?;

        Ok(Repr {
            op: packet.op(),
            htype: packet.htype(),
            hlen: packet.hlen(),
            hops: packet.hops(),
            xid: packet.xid(),
            secs: packet.secs(),
            flags: packet.flags(),
            ciaddr: packet.ciaddr(),
            yiaddr: packet.yiaddr(),
            siaddr: packet.siaddr(),
            giaddr: packet.giaddr(),
            chaddr: packet.chaddr(),
            sname,
            file,
            options,
        })
    }

    /// Checks `buf` as a DHCPv4 message and parses it.
    pub fn from_bytes(buf: &[u8]) -> Result<Repr> {
        Repr::parse(&Packet::new_checked(buf)?)
    }

    /// Octets [`emit`](Self::emit) writes: header, cookie, options (split per RFC 3396), end.
    ///
    /// No padding to the 300-octet BOOTP minimum is added; the I/O layer may pad if a peer needs it.
    pub fn buffer_len(&self) -> usize {
        self.options
            .iter()
            .filter(|o| !is_framing(o.code()))
            .fold(HEADER_LEN.saturating_add(1), |n, o| {
                n.saturating_add(wire_len(o.value().len()))
            })
    }

    fn emit_header(&self, buf: &mut [u8]) -> Result<()> {
        let header = buf.get_mut(..HEADER_LEN).ok_or(Error::BufferTooSmall)?;
        let mut p = Packet::new_unchecked(header);
        p.set_op(self.op);
        p.set_htype(self.htype);
        p.set_hlen(self.hlen);
        p.set_hops(self.hops);
        p.set_xid(self.xid);
        p.set_secs(self.secs);
        p.set_flags(self.flags);
        p.set_ciaddr(self.ciaddr);
        p.set_yiaddr(self.yiaddr);
        p.set_siaddr(self.siaddr);
        p.set_giaddr(self.giaddr);
        p.set_chaddr(&self.chaddr);
        p.set_sname(&self.sname);
        p.set_file(&self.file);
        p.set_magic_cookie();
        Ok(())
    }

    /// Writes the message into `buf`, returning the octets written ([`buffer_len`](Self::buffer_len)).
    ///
    /// Values longer than 255 octets become consecutive instances (RFC 3396 §6). `Other` options
    /// with code 0, 52 or 255 are not written: pad and end are framing, and option overload is
    /// decided by [`emit_with_max`](Self::emit_with_max). A short `buf` is `Error::BufferTooSmall`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(Error::BufferTooSmall);
        }
        self.emit_header(buf)?;
        let options = buf.get_mut(HEADER_LEN..len).ok_or(Error::BufferTooSmall)?;
        let cap = options.len().saturating_sub(1);
        let mut area = Area {
            buf: options,
            pos: 0,
            cap,
        };
        for opt in self.options.iter().filter(|o| !is_framing(o.code())) {
            area.option(opt.code(), &opt.value())?;
        }
        area.end()?;
        Ok(len)
    }

    /// The message as a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.buffer_len()];
        // Cannot fail: the buffer has exactly `buffer_len` octets.
        let n = self.emit(&mut out).unwrap_or(0);
        out.truncate(n);
        out
    }

    /// Writes the message so that it is at most `max_len` octets long (the DHCP message from `op`
    /// to the last option; subtract IP and UDP headers from a Maximum DHCP Message Size first).
    ///
    /// When the options do not fit in the options field, and `sname` and `file` are all zero,
    /// they continue in `file`, then `sname`, announced by Option Overload (52) at the start of the
    /// options field (RFC 2131 §4.1, RFC 2132 §9.3). A value of at most 16 octets that fits whole
    /// in the next area is moved there rather than split; longer ones fill each area and continue
    /// in the next (RFC 3396). Returns the octets written. `Error::TooLarge` when the message cannot fit in `max_len`.
    pub fn emit_with_max(&self, buf: &mut [u8], max_len: usize) -> Result<usize> {
        let plain = self.buffer_len();
        if plain <= max_len {
            return self.emit(buf);
        }
        if self.sname.iter().any(|&b| b != 0) || self.file.iter().any(|&b| b != 0) {
            return Err(Error::TooLarge);
        }
        // Room in the options field: after the 3-octet overload option, before the end option.
        let field_len = max_len.checked_sub(HEADER_LEN).ok_or(Error::TooLarge)?;
        let field_cap = field_len.checked_sub(4).ok_or(Error::TooLarge)?;
        // Bounded: field_len < plain, which is proportional to the options held.
        let mut field = vec![0u8; field_len];
        let mut file = [0u8; 128];
        let mut sname = [0u8; 64];
        let mut areas = [
            Area {
                buf: &mut field[3..],
                pos: 0,
                cap: field_cap,
            },
            Area {
                buf: &mut file,
                pos: 0,
                cap: 127,
            },
            Area {
                buf: &mut sname,
                pos: 0,
                cap: 63,
            },
        ];
        let mut current = 0usize;
        for opt in self.options.iter().filter(|o| !is_framing(o.code())) {
            let code = opt.code();
            let value = opt.value();
            let total = value.len();
            let mut offset = 0usize;
            let mut first = true;
            while first || offset < total {
                let left = total - offset;
                let chunk = left.min(255);
                let area = areas.get(current).ok_or(Error::TooLarge)?;
                let room = area.room();
                let next_cap = areas.get(current + 1).map(|a| a.room());
                let fits_here = chunk + 2 <= room;
                // Short values (addresses, times, codes) move whole to the next area, so that
                // receivers without RFC 3396 still read them; longer ones fill the area and
                // continue in the next one, which wastes no room.
                let move_whole = chunk <= SHORT_VALUE && next_cap.is_some_and(|c| chunk + 2 <= c);
                if !fits_here && (move_whole || room < 3) {
                    current += 1;
                    continue;
                }
                let n = chunk.min(room - 2);
                let area = areas.get_mut(current).ok_or(Error::TooLarge)?;
                area.instance(code, &value, offset, n)?;
                offset += n;
                first = false;
            }
        }
        let used_field = areas[0].pos;
        let overload = match (areas[1].pos > 0, areas[2].pos > 0) {
            (_, true) => OVERLOAD_FILE | OVERLOAD_SNAME,
            (true, false) => OVERLOAD_FILE,
            (false, false) => 0,
        };
        for (i, area) in areas.iter_mut().enumerate() {
            // The options field always ends with end; file and sname only when they hold options.
            if i == 0 || area.pos > 0 {
                area.end()?;
            }
        }
        let field_used = 3usize.saturating_add(used_field).saturating_add(1);
        if overload == 0 {
            // Nothing went to file or sname after all: there was room for the plain message.
            return self.emit(buf);
        }
        if let Some(head) = field.get_mut(..3) {
            head.copy_from_slice(&[code::OPTION_OVERLOAD, 1, overload]);
        }
        let total = HEADER_LEN.saturating_add(field_used);
        if buf.len() < total {
            return Err(Error::BufferTooSmall);
        }
        self.emit_header(buf)?;
        let mut p = Packet::new_unchecked(&mut buf[..total]);
        p.set_file(&file);
        p.set_sname(&sname);
        p.options_field_mut()
            .copy_from_slice(field.get(..field_used).ok_or(Error::TooLarge)?);
        Ok(total)
    }

    /// [`emit_with_max`](Self::emit_with_max) into a new vector.
    pub fn to_vec_with_max(&self, max_len: usize) -> Result<Vec<u8>> {
        // Never longer than the plain message, nor than max_len when overloaded.
        let mut out = vec![0u8; self.buffer_len().min(max_len)];
        let n = self.emit_with_max(&mut out, max_len)?;
        out.truncate(n);
        Ok(out)
    }

    /// The first option with `code`.
    pub fn option(&self, code: u8) -> Option<&DhcpOption> {
        self.options.iter().find(|o| o.code() == code)
    }

    /// Replaces the option with the same code in place, or appends it.
    pub fn set_option(&mut self, option: DhcpOption) {
        match self.options.iter_mut().find(|o| o.code() == option.code()) {
            Some(slot) => *slot = option,
            None => self.options.push(option),
        }
    }

    /// Removes every option with `code`.
    pub fn remove_option(&mut self, code: u8) {
        self.options.retain(|o| o.code() != code);
    }

    /// DHCP Message Type (53), if present.
    pub fn message_type(&self) -> Option<MessageType> {
        self.options.iter().find_map(|o| match o {
            DhcpOption::MessageType(t) => Some(*t),
            _ => None,
        })
    }

    /// Relay Agent Information (82), if present.
    pub fn relay_agent_information(&self) -> Option<&RelayAgentInformation<'static>> {
        self.options.iter().find_map(|o| match o {
            DhcpOption::RelayAgentInformation(r) => Some(r),
            _ => None,
        })
    }

    /// The client hardware address: the first `hlen` octets of chaddr (at most 16).
    pub fn client_hw_addr(&self) -> &[u8] {
        let n = usize::from(self.hlen).min(16);
        &self.chaddr[..n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v4::packet::MAGIC_COOKIE;

    fn msg(options: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 240];
        b[0] = 1;
        b[1] = 1;
        b[2] = 6;
        b[236..240].copy_from_slice(&MAGIC_COOKIE);
        b.extend_from_slice(options);
        b
    }

    #[test]
    fn joins_instances_at_first_position() {
        let b = msg(&[12, 1, b'a', 53, 1, 1, 12, 1, b'b', 61, 1, 7, 255]);
        let r = Repr::from_bytes(&b).unwrap();
        assert_eq!(
            r.options,
            vec![
                DhcpOption::HostName(b"ab".to_vec()),
                DhcpOption::MessageType(MessageType::Discover),
                DhcpOption::ClientIdentifier(vec![7]),
            ]
        );
        assert_eq!(r.message_type(), Some(MessageType::Discover));
    }

    #[test]
    fn joined_value_must_decode() {
        // Two one-octet message types join into two octets: not a message type.
        let b = msg(&[53, 1, 1, 53, 1, 3, 255]);
        assert_eq!(Repr::from_bytes(&b), Err(Error::BadLength));
        // Two addresses split 2+2 join into one valid address.
        let b = msg(&[54, 2, 192, 0, 54, 2, 2, 1, 255]);
        let r = Repr::from_bytes(&b).unwrap();
        assert_eq!(
            r.options,
            vec![DhcpOption::ServerIdentifier(Ipv4Addr::new(192, 0, 2, 1))]
        );
    }

    #[test]
    fn overload_is_consumed_and_field_zeroed() {
        let mut b = msg(&[53, 1, 5, 52, 1, 1, 255]);
        b[44..47].copy_from_slice(b"srv");
        b[108..114].copy_from_slice(&[12, 2, b'h', b'i', 255, 0]);
        let r = Repr::from_bytes(&b).unwrap();
        assert_eq!(r.file, [0; 128]);
        assert_eq!(&r.sname[..3], b"srv");
        assert_eq!(
            r.options,
            vec![
                DhcpOption::MessageType(MessageType::Ack),
                DhcpOption::HostName(b"hi".to_vec())
            ]
        );
        let bad = msg(&[52, 1, 0, 255]);
        assert_eq!(Repr::from_bytes(&bad), Err(Error::BadValue));
        let bad = msg(&[52, 2, 1, 1, 255]);
        assert_eq!(Repr::from_bytes(&bad), Err(Error::BadLength));
    }

    #[test]
    fn emit_parse_round_trip_and_split() {
        let mut r = Repr {
            xid: 0xdead_beef,
            giaddr: Ipv4Addr::new(192, 0, 2, 1),
            ..Repr::default()
        };
        r.chaddr[..6].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        r.options = vec![
            DhcpOption::MessageType(MessageType::LeaseQuery),
            DhcpOption::Other {
                code: 43,
                data: (0..600u32).map(|i| i as u8).collect(),
            },
            DhcpOption::HostName(Vec::new()),
        ];
        let bytes = r.to_vec();
        assert_eq!(bytes.len(), r.buffer_len());
        assert_eq!(bytes.len(), 240 + 3 + (600 + 6) + 2 + 1);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        let lens: Vec<(u8, usize)> = p
            .options()
            .map(|o| o.unwrap())
            .map(|o| (o.code, o.data.len()))
            .collect();
        assert_eq!(lens, vec![(53, 1), (43, 255), (43, 255), (43, 90), (12, 0)]);
        assert_eq!(Repr::from_bytes(&bytes).unwrap(), r);
        assert_eq!(r.client_hw_addr(), &[2, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn emit_rejects_short_buffer_and_skips_framing_codes() {
        let mut r = Repr::default();
        r.options.push(DhcpOption::Other {
            code: 52,
            data: vec![3],
        });
        r.options.push(DhcpOption::Other {
            code: 0,
            data: vec![],
        });
        assert_eq!(r.buffer_len(), 241);
        let mut small = [0u8; 240];
        assert_eq!(r.emit(&mut small), Err(Error::BufferTooSmall));
        let bytes = r.to_vec();
        assert_eq!(bytes[240], 255);
    }

    #[test]
    fn emit_with_max_overloads_file_then_sname() {
        let r = Repr {
            options: vec![
                DhcpOption::MessageType(MessageType::Ack),
                DhcpOption::ServerIdentifier(Ipv4Addr::new(192, 0, 2, 1)),
                DhcpOption::HostName(vec![b'x'; 100]),
                DhcpOption::VendorClassIdentifier(vec![b'v'; 60]),
                DhcpOption::ClientIdentifier(vec![1; 20]),
            ],
            ..Repr::default()
        };
        let max = 300;
        let bytes = r.to_vec_with_max(max).unwrap();
        assert!(bytes.len() <= max);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.overload().unwrap(), 3);
        assert_eq!(Repr::from_bytes(&bytes).unwrap(), r);
        // Fits without overload: identical to emit.
        assert_eq!(r.to_vec_with_max(2000).unwrap(), r.to_vec());
        // Cannot fit at all.
        assert_eq!(r.to_vec_with_max(250), Err(Error::TooLarge));
        // sname in use: no overload possible.
        let mut named = r.clone();
        named.sname[0] = b's';
        assert_eq!(named.to_vec_with_max(max), Err(Error::TooLarge));
    }

    #[test]
    fn emit_with_max_minimal_options_field() {
        let r = Repr {
            options: vec![DhcpOption::HostName(vec![b'h'; 60])],
            ..Repr::default()
        };
        // Options field holds only overload + end; the host name goes whole into file.
        let bytes = r.to_vec_with_max(244).unwrap();
        assert_eq!(bytes.len(), 244);
        assert_eq!(&bytes[240..], &[52, 1, 1, 255]);
        assert_eq!(Repr::from_bytes(&bytes).unwrap(), r);
    }
}
