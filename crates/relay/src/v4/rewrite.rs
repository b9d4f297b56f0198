//! The two edits the relay makes to a message in passing, byte for byte: option 82 inserted
//! before END of the options field (RFC 3046 §2.1), and option 82 taken out of a reply (§2.2).
//! Everything else stays as the client or the server wrote it.

use lessor_wire::v4::{code, HEADER_LEN};
use lessor_wire::{Error, Result};

/// Where the options field's END is (an offset in the message), or where it would go: just
/// after the last option when the field has no END. An option overrunning the message is
/// `Error::Truncated`.
fn end_of_options(message: &[u8]) -> Result<usize> {
    let mut pos = HEADER_LEN;
    loop {
        match message.get(pos) {
            None => return Ok(pos),
            Some(&code::END) => return Ok(pos),
            Some(&code::PAD) => pos += 1,
            Some(_) => {
                let len = usize::from(*message.get(pos + 1).ok_or(Error::Truncated)?);
                let next = pos + 2 + len;
                if next > message.len() {
                    return Err(Error::Truncated);
                }
                pos = next;
            }
        }
    }
}

/// `message` with option 82 of value `value` (at most 255 octets) before END, then END, then the
/// zero padding that keeps it at least as long as it was (a relay does not shorten a BOOTP
/// message below its minimum).
pub fn insert_option82(message: &[u8], value: &[u8]) -> Result<Vec<u8>> {
    let len = u8::try_from(value.len()).map_err(|_| Error::BadLength)?;
    let end = end_of_options(message)?;
    let mut out = Vec::with_capacity(message.len() + value.len() + 3);
    out.extend_from_slice(&message[..end]);
    out.push(code::RELAY_AGENT_INFORMATION);
    out.push(len);
    out.extend_from_slice(value);
    out.push(code::END);
    if out.len() < message.len() {
        out.resize(message.len(), code::PAD);
    }
    Ok(out)
}

/// `message` without any option 82 instance: taken out of the options field (what follows is
/// moved up, the length kept with padding after END), replaced by PAD where it sits in an
/// overloaded `file` or `sname` (whose size is fixed).
pub fn strip_option82(message: &[u8]) -> Result<Vec<u8>> {
    let mut out = message.to_vec();
    // Overloaded areas: the wire crate's iterator knows where they are; blank in place.
    let areas = [(108usize, 236usize), (44, 108)];
    let overload = lessor_wire::v4::Packet::new_unchecked(message).overload()?;
    for (bit, (start, stop)) in [1u8, 2].into_iter().zip(areas) {
        if overload & bit != 0 {
            blank_in(&mut out[start..stop], code::RELAY_AGENT_INFORMATION);
        }
    }
    let end = end_of_options(message)?;
    let mut options = Vec::with_capacity(message.len() - HEADER_LEN);
    let mut pos = HEADER_LEN;
    while pos < end {
        let c = message[pos];
        if c == code::PAD {
            options.push(c);
            pos += 1;
            continue;
        }
        let next = pos + 2 + usize::from(message[pos + 1]);
        if c != code::RELAY_AGENT_INFORMATION {
            options.extend_from_slice(&message[pos..next]);
        }
        pos = next;
    }
    options.extend_from_slice(&message[end..]);
    options.resize(message.len() - HEADER_LEN, code::PAD);
    out.truncate(HEADER_LEN);
    out.extend_from_slice(&options);
    Ok(out)
}

/// Replaces every instance of option `target` in one options area by PAD octets.
fn blank_in(area: &mut [u8], target: u8) {
    let mut pos = 0;
    while let Some(&c) = area.get(pos) {
        match c {
            code::END => return,
            code::PAD => pos += 1,
            _ => {
                let Some(&len) = area.get(pos + 1) else {
                    return;
                };
                let next = (pos + 2 + usize::from(len)).min(area.len());
                if c == target {
                    area[pos..next].fill(code::PAD);
                }
                pos = next;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(options: &[u8], padding: usize) -> Vec<u8> {
        let mut m = vec![0u8; HEADER_LEN];
        m[236..240].copy_from_slice(&lessor_wire::v4::MAGIC_COOKIE);
        m.extend_from_slice(options);
        m.extend(std::iter::repeat_n(0, padding));
        m
    }

    #[test]
    fn inserted_before_end_keeping_the_length() {
        let m = message(&[53, 1, 1, 255], 20);
        let out = insert_option82(&m, &[1, 1, b'a']).unwrap();
        assert_eq!(
            &out[HEADER_LEN..HEADER_LEN + 10],
            &[53, 1, 1, 82, 3, 1, 1, b'a', 255, 0]
        );
        assert_eq!(out.len(), m.len());
        // No END: after the last option.
        let out = insert_option82(&message(&[53, 1, 1], 0), &[1, 1, b'a']).unwrap();
        assert_eq!(&out[HEADER_LEN..], &[53, 1, 1, 82, 3, 1, 1, b'a', 255]);
        assert_eq!(
            insert_option82(&message(&[53, 5, 1], 0), &[]),
            Err(Error::Truncated)
        );
        assert_eq!(insert_option82(&m, &[0; 256]), Err(Error::BadLength));
    }

    #[test]
    fn stripped_wherever_it_is() {
        let m = message(
            &[
                53, 1, 5, 82, 3, 1, 1, b'a', 82, 2, 2, 0, 51, 4, 0, 0, 1, 0, 255,
            ],
            3,
        );
        let out = strip_option82(&m).unwrap();
        assert_eq!(
            &out[HEADER_LEN..],
            &[53, 1, 5, 51, 4, 0, 0, 1, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        // In an overloaded file field: PAD in place.
        let mut m = message(&[52, 1, 1, 255], 0);
        m[108..113].copy_from_slice(&[82, 3, 1, 1, b'a']);
        m[113] = 255;
        let out = strip_option82(&m).unwrap();
        assert_eq!(&out[108..114], &[0, 0, 0, 0, 0, 255]);
        assert_eq!(&out[HEADER_LEN..], &[52, 1, 1, 255]);
    }
}
