//! The server's DUID (RFC 8415 §11): configured (`[dhcp6] server-duid`, used as written), else
//! generated once and kept in the store's meta table under [`META_KEY`], so that clients and
//! relays see one server across restarts. Generated as a DUID-LLT (RFC 8415 §11.2) from the
//! link-layer address of one of the host's interfaces, or, on a host without one, a DUID-UUID
//! (RFC 6355) from random octets. Sans-IO: the shell reads the interfaces, the clock and the
//! randomness.

use crate::config::ServerDuid;
use lessor_store::Timestamp;
use lessor_wire::v6::Duid;

/// The meta key the generated DUID is kept under (lowercase hex, no separators).
pub const META_KEY: &str = "server-duid6";

/// Seconds from the Unix epoch to 2000-01-01T00:00:00Z, DUID-LLT's epoch.
const DUID_EPOCH: u64 = 946_684_800;

/// Where the DUID in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `[dhcp6] server-duid`.
    Configured,
    /// Generated earlier and read back from the store.
    Kept,
    /// Generated now: to be kept ([`lessor_store::Store::set_meta`]) before serving.
    Generated,
}

/// The DUID to serve with, and where it came from. `kept` is the store's [`META_KEY`] value;
/// `mac` a 6-octet link-layer address of this host, if any; `random` 16 random octets.
/// A kept value that does not decode as a DUID is replaced (the caller logs it).
pub fn resolve(
    config: &ServerDuid,
    kept: Option<&str>,
    mac: Option<[u8; 6]>,
    now: Timestamp,
    random: [u8; 16],
) -> (Vec<u8>, Source) {
    if let ServerDuid::Configured(d) = config {
        return (d.clone(), Source::Configured);
    }
    if let Some(d) = kept.and_then(from_hex).filter(|d| Duid::parse(d).is_ok()) {
        return (d, Source::Kept);
    }
    (generate(mac, now, random), Source::Generated)
}

/// A new DUID: DUID-LLT from `mac` (hardware type 1, Ethernet), else DUID-UUID (version 4).
pub fn generate(mac: Option<[u8; 6]>, now: Timestamp, mut random: [u8; 16]) -> Vec<u8> {
    let duid = match mac {
        Some(mac) => Duid::Llt {
            hardware_type: 1,
            time: (now.saturating_sub(DUID_EPOCH) & 0xffff_ffff) as u32,
            link_layer_address: mac.to_vec(),
        },
        None => {
            random[6] = (random[6] & 0x0f) | 0x40;
            random[8] = (random[8] & 0x3f) | 0x80;
            Duid::Uuid(random)
        }
    };
    duid.to_vec()
}

/// Lowercase hex without separators, as kept in the meta table.
pub fn to_hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The octets of [`to_hex`]'s form; None if it is not that.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.is_empty() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The link-layer address to build a DUID-LLT from: the first interface, by name, with a
/// 6-octet address that is neither all zeros nor all ones. `interfaces` are (name, address
/// text as in /sys/class/net/NAME/address).
pub fn pick_mac(interfaces: &[(String, String)]) -> Option<[u8; 6]> {
    let mut sorted: Vec<&(String, String)> = interfaces.iter().collect();
    sorted.sort();
    sorted.into_iter().find_map(|(_, text)| {
        let octets: Vec<u8> = text
            .trim()
            .split(':')
            .map(|p| u8::from_str_radix(p, 16).ok())
            .collect::<Option<_>>()?;
        let mac: [u8; 6] = octets.try_into().ok()?;
        (mac != [0; 6] && mac != [0xff; 6]).then_some(mac)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_then_kept_then_generated() {
        let configured = ServerDuid::Configured(vec![0, 2, 0, 0, 0xab, 0x11, 1]);
        assert_eq!(
            resolve(&configured, Some("000300010203"), None, 0, [0; 16]),
            (vec![0, 2, 0, 0, 0xab, 0x11, 1], Source::Configured)
        );
        assert_eq!(
            resolve(
                &ServerDuid::Generated,
                Some("000300010203"),
                None,
                0,
                [0; 16]
            ),
            (vec![0, 3, 0, 1, 2, 3], Source::Kept)
        );
        // 2026-01-01T00:00:00Z is 820,540,800 s after 2000-01-01.
        let (d, s) = resolve(
            &ServerDuid::Generated,
            Some("zz"),
            Some([2, 0, 0, 0, 0, 1]),
            1_767_225_600,
            [0; 16],
        );
        assert_eq!(s, Source::Generated);
        let mut want = vec![0, 1, 0, 1];
        want.extend(820_540_800u32.to_be_bytes());
        want.extend([2, 0, 0, 0, 0, 1]);
        assert_eq!(d, want);
        assert_eq!(from_hex(&to_hex(&d)), Some(d));
        let (u, _) = resolve(&ServerDuid::Generated, None, None, 0, [0xff; 16]);
        assert_eq!(u.len(), 18);
        assert_eq!(&u[..2], &[0, 4]);
        assert_eq!(u[2 + 6] & 0xf0, 0x40);
    }

    #[test]
    fn the_first_real_mac_by_name() {
        let ifs = vec![
            ("lo".to_string(), "00:00:00:00:00:00\n".to_string()),
            ("eth1".to_string(), "02:00:00:00:00:02".to_string()),
            ("eth0".to_string(), "02:00:00:00:00:01".to_string()),
            ("wg0".to_string(), "".to_string()),
        ];
        assert_eq!(pick_mac(&ifs), Some([2, 0, 0, 0, 0, 1]));
        assert_eq!(pick_mac(&ifs[..1]), None);
    }
}
