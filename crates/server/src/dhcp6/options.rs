//! The configured options a reply carries: those the client asked for in its Option Request
//! option (RFC 8415 §21.7) that the configuration has, the most specific level winning per code
//! (host reservation, then pool, then link, then `[dhcp6]`; docs/protocol.md).

use crate::config::ConfiguredOption6;
use lessor_wire::v6::DhcpOption;

/// Most option codes of one ORO honoured (a hostile ORO of 32k codes costs no more).
pub const MAX_ORO: usize = 64;

/// The codes `options` (a client message's) ask for, in order, without duplicates, at most
/// [`MAX_ORO`].
pub fn requested(options: &[DhcpOption]) -> Vec<u16> {
    let mut codes = Vec::new();
    for o in options {
        if let DhcpOption::Oro(list) = o {
            for &c in list {
                if codes.len() == MAX_ORO {
                    return codes;
                }
                if !codes.contains(&c) {
                    codes.push(c);
                }
            }
        }
    }
    codes
}

/// The options for `requested` codes from `tables`, most specific first: one option per code,
/// in the client's order.
pub fn merged(requested: &[u16], tables: &[&[ConfiguredOption6]]) -> Vec<DhcpOption> {
    merged_values(requested, tables)
        .map(|o| DhcpOption::Other {
            code: o.code,
            data: o.value.clone(),
        })
        .collect()
}

/// [`merged`]'s choice, borrowed: for a writer that emits the values without building options.
pub fn merged_values<'r, 't: 'r>(
    requested: &'r [u16],
    tables: &'r [&'t [ConfiguredOption6]],
) -> impl Iterator<Item = &'t ConfiguredOption6> + 'r {
    requested.iter().filter_map(move |&code| {
        tables
            .iter()
            .find_map(|t| t.iter().find(|o| o.code == code))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(code: u16, v: u8) -> ConfiguredOption6 {
        ConfiguredOption6 {
            code,
            value: vec![v],
        }
    }

    #[test]
    fn the_most_specific_level_wins_and_only_what_was_asked_for() {
        let host = [opt(23, 1)];
        let pool = [opt(23, 2), opt(24, 2)];
        let link = [opt(24, 3), opt(31, 3)];
        let section = [opt(31, 4), opt(32, 4), opt(99, 4)];
        let asked = requested(&[DhcpOption::Oro(vec![32, 23, 24, 31, 23, 7])]);
        assert_eq!(asked, vec![32, 23, 24, 31, 7]);
        let got = merged(&asked, &[&host, &pool, &link, &section]);
        let got: Vec<(u16, Vec<u8>)> = got
            .into_iter()
            .map(|o| match o {
                DhcpOption::Other { code, data } => (code, data),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            got,
            vec![(32, vec![4]), (23, vec![1]), (24, vec![2]), (31, vec![3])]
        );
        let long = requested(&[DhcpOption::Oro((0..1000).collect())]);
        assert_eq!(long.len(), MAX_ORO);
    }
}
