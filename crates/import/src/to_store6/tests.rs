use super::*;
use crate::lease6::Relay6;

const T: u64 = 1_795_687_200;

pub fn links() -> Vec<LinkTarget> {
    vec![
        LinkTarget {
            prefix: "2001:db8:1::/64".parse().unwrap(),
            address_pools: vec![(
                "2001:db8:1::1000".parse().unwrap(),
                "2001:db8:1::1fff".parse().unwrap(),
            )],
            prefix_pools: vec!["2001:db8:100::/48".parse().unwrap()],
            reserved: vec!["2001:db8:200::/56".parse().unwrap()],
        },
        LinkTarget {
            prefix: "2001:db8:2::/64".parse().unwrap(),
            // A pool outside the link's prefix: the pool decides.
            address_pools: vec![(
                "2001:db8:1::2000".parse().unwrap(),
                "2001:db8:1::2fff".parse().unwrap(),
            )],
            prefix_pools: vec![],
            reserved: vec![],
        },
        LinkTarget::prefix_only("2001:db8::/32".parse().unwrap()),
    ]
}

pub fn lease(address: &str, prefix_len: u8, ia_type: IaType) -> Lease6 {
    Lease6 {
        line: 3,
        ia_type,
        duid: vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1],
        iaid: 7,
        address: address.parse().unwrap(),
        prefix_len,
        standing: Standing::Active,
        cltt: Some(T - 100),
        preferred: 1800,
        valid: 3600,
        valid_end: Some(T + 3600),
        relay: Relay6::default(),
        notes: Vec::new(),
    }
}

fn link(address: &str, prefix_len: u8, ia_type: IaType) -> Option<String> {
    let net = Ipv6Net::new(address.parse().unwrap(), prefix_len).unwrap();
    link_of(&links(), &net, ia_type).map(|l| l.to_string())
}

#[test]
fn links_by_pool_reservation_then_prefix() {
    assert_eq!(
        link("2001:db8:1::1000", 128, IaType::Na).as_deref(),
        Some("2001:db8:1::/64")
    );
    assert_eq!(
        link("2001:db8:1::2001", 128, IaType::Na).as_deref(),
        Some("2001:db8:2::/64")
    );
    assert_eq!(
        link("2001:db8:1::5", 128, IaType::Na).as_deref(),
        Some("2001:db8:1::/64")
    );
    assert_eq!(
        link("2001:db8:100:200::", 56, IaType::Pd).as_deref(),
        Some("2001:db8:1::/64")
    );
    assert_eq!(
        link("2001:db8:200::", 56, IaType::Pd).as_deref(),
        Some("2001:db8:1::/64")
    );
    // Not in a pool: the most specific prefix holding it whole.
    assert_eq!(
        link("2001:db8:300::", 56, IaType::Pd).as_deref(),
        Some("2001:db8::/32")
    );
    assert_eq!(link("2001:db9::1", 128, IaType::Na), None);
    assert_eq!(
        link("2001:db8:1::2001", 128, IaType::Pd).as_deref(),
        Some("2001:db8:1::/64")
    );
}

#[test]
fn an_active_lease_with_its_times() {
    let l = lease("2001:db8:1::1000", 128, IaType::Na);
    let b = binding6(&l, &links(), T).unwrap();
    assert_eq!(b.state, State6::Active);
    assert_eq!(b.link, "2001:db8:1::/64".parse::<Ipv6Net>().unwrap());
    assert_eq!(
        (b.start, b.preferred_end, b.valid_end),
        (T, T + 1800, T + 3600)
    );
    assert_eq!((b.t1, b.t2, b.cltt), (T + 900, T + 1440, T - 100));
    assert_eq!((b.iaid, b.ia_type), (7, IaType::Na));
    assert_eq!(b.duid(), Some(&l.duid[..]));
    assert_eq!(b.relay_chain(), None);
    // Ended since: expired.
    assert_eq!(
        binding6(&l, &links(), T + 3600).unwrap().state,
        State6::Expired
    );
}

#[test]
fn states() {
    for (standing, state) in [
        (Standing::Expired, State6::Expired),
        (Standing::Released, State6::Released),
        (Standing::Declined, State6::Declined),
    ] {
        let mut l = lease("2001:db8:1::1000", 128, IaType::Na);
        l.standing = standing;
        assert_eq!(binding6(&l, &links(), T).unwrap().state, state);
    }
}

#[test]
fn infinite_and_unknown_lifetimes() {
    let mut l = lease("2001:db8:100::", 56, IaType::Pd);
    l.valid = INFINITY;
    l.preferred = INFINITY;
    l.valid_end = None;
    let b = binding6(&l, &links(), T).unwrap();
    assert_eq!(
        (b.start, b.valid_end, b.preferred_end),
        (T - 100, NEVER, NEVER)
    );
    assert_eq!((b.t1, b.t2), (NEVER, NEVER));
    assert_eq!(b.state, State6::Active);
    // No max-life and no cltt: an active lease cannot be placed in time.
    let mut l = lease("2001:db8:1::1000", 128, IaType::Na);
    l.valid = 0;
    l.cltt = None;
    assert!(binding6(&l, &links(), T)
        .unwrap_err()
        .0
        .starts_with("active lease without"));
    // Not active: imported with what is known.
    l.standing = Standing::Expired;
    let b = binding6(&l, &links(), T).unwrap();
    assert_eq!((b.start, b.valid_end), (T, T + 3600));
}

#[test]
fn refused() {
    let cases = [
        (lease("2001:db8:1::1000", 64, IaType::Na), "other than 128"),
        (
            lease("2001:db8:100::1", 56, IaType::Pd),
            "bits set past its length",
        ),
        (lease("::", 0, IaType::Pd), "length 0"),
        (
            lease("2001:db9::", 56, IaType::Pd),
            "outside every configured link",
        ),
    ];
    for (l, why) in cases {
        let got = binding6(&l, &links(), T).unwrap_err().0;
        assert!(got.contains(why), "{got} / {why}");
    }
    let mut l = lease("2001:db8:1::1000", 128, IaType::Na);
    l.duid = vec![1; 200];
    assert!(binding6(&l, &links(), T).unwrap_err().0.contains("duid"));
    l.duid.clear();
    assert!(binding6(&l, &links(), T).unwrap_err().0.contains("DUID"));
}

#[test]
fn relay_data_is_kept() {
    let mut l = lease("2001:db8:1::1000", 128, IaType::Na);
    l.relay = Relay6 {
        chain: Some(vec![12, 0]),
        peer: Some("2001:db8:ff::1".parse().unwrap()),
        interface_id: Some(b"ge0".to_vec()),
        remote_id: Some(vec![0, 0, 0x0d, 0xe9, 1]),
        relay_id: Some(vec![0, 3]),
    };
    let b = binding6(&l, &links(), T).unwrap();
    assert_eq!(b.relay_chain(), Some(&[12, 0][..]));
    assert_eq!(b.interface_id(), Some(&b"ge0"[..]));
    assert_eq!(b.remote_id(), Some(&[0, 0, 0x0d, 0xe9, 1][..]));
    assert_eq!(b.relay_id(), Some(&[0, 3][..]));
    assert_eq!(b.relay_peer, l.relay.peer);
}

proptest::proptest! {
    /// Whatever the times a file gives, the conversion never panics and keeps every time at
    /// most NEVER.
    #[test]
    fn any_times_are_kept_within_the_store(
        cltt in proptest::option::of(proptest::num::u64::ANY),
        valid_end in proptest::option::of(proptest::num::u64::ANY),
        valid in proptest::num::u32::ANY,
        preferred in proptest::num::u32::ANY,
        now in proptest::num::u64::ANY,
        active in proptest::bool::ANY,
    ) {
        let mut l = lease("2001:db8:1::1000", 128, IaType::Na);
        l.cltt = cltt;
        l.valid_end = valid_end;
        l.valid = valid;
        l.preferred = preferred;
        if !active {
            l.standing = Standing::Expired;
        }
        if let Ok(b) = binding6(&l, &links(), now) {
            for t in [b.start, b.preferred_end, b.valid_end, b.t1, b.t2, b.cltt] {
                proptest::prop_assert!(t <= NEVER);
            }
        }
    }
}
