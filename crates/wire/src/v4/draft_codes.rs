//! The code points of the 2008 DHCPv4 bulk leasequery draft, which it left "TBD"
//! (docs/protocol.md decision 2).

/// The draft's message types and status option. Lessor's defaults are those of docs/protocol.md
/// decision 2; a peer that used private values needs the same values on both ends, so the
/// server's `[leasequery4.bulk] draft-codes`, the requestor and the load generator all take this
/// one set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(deny_unknown_fields, rename_all = "kebab-case", default)
)]
pub struct DraftCodes {
    /// DHCPLEASEDATA: each binding after the first (default 19).
    pub lease_data: u8,
    /// DHCPLEASEDONE: the end of a successful query (default 15).
    pub lease_done: u8,
    /// DHCPLEASEQUERYFAIL: a failed query (default 17).
    pub lease_query_fail: u8,
    /// The STATUS_CODE option (default 151).
    pub status_code_option: u8,
}

impl DraftCodes {
    /// Lessor's values (docs/protocol.md decision 2).
    pub const DEFAULT: DraftCodes = DraftCodes {
        lease_data: 19,
        lease_done: 15,
        lease_query_fail: 17,
        status_code_option: 151,
    };
}

impl Default for DraftCodes {
    fn default() -> Self {
        DraftCodes::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_decision_2() {
        let d = DraftCodes::default();
        assert_eq!(
            (
                d.lease_data,
                d.lease_done,
                d.lease_query_fail,
                d.status_code_option
            ),
            (19, 15, 17, 151)
        );
        // Two of them are the values IANA gave the messages of the same role later.
        assert_eq!(
            d.lease_done,
            u8::from(super::super::MessageType::LeaseQueryDone)
        );
        assert_eq!(d.status_code_option, super::super::code::STATUS_CODE);
    }
}

#[cfg(all(test, feature = "serde"))]
mod serde_tests {
    use super::DraftCodes;

    #[test]
    fn missing_keys_take_the_defaults_and_unknown_keys_are_refused() {
        let d: DraftCodes = serde_json::from_str(r#"{"lease-data": 20}"#).unwrap();
        assert_eq!(
            d,
            DraftCodes {
                lease_data: 20,
                ..DraftCodes::DEFAULT
            }
        );
        assert!(serde_json::from_str::<DraftCodes>(r#"{"lease_data": 20}"#).is_err());
    }
}
