//! The RELEASEs and DECLINEs the relay forwarded and has not yet seen answered.
//!
//! A Reply does not say which message it answers; the client's RELEASE or DECLINE does, and
//! lists what the client gives back (a Reply to a RELEASE normally carries only a status). So the
//! engine remembers, per (transaction-id, client DUID), what the message listed, and removes
//! those entries when the Reply comes (docs/protocol.md decision 31). Bounded in entries, in
//! resources per entry and in time, so a flood of RELEASEs costs a fixed amount of memory.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use lessor_wire::v6::{ClientServerMessage, DhcpOption, MessageType};

use crate::location::bound6;

/// Most messages remembered; the oldest goes when a new one comes.
pub const MAX_PENDING: usize = 1024;
/// Most addresses and prefixes remembered per message (the server answers at most 8 IAs,
/// docs/protocol.md decision 19; other servers a few addresses each).
pub const MAX_RESOURCES: usize = 32;
/// How long a message waits for its Reply: past a client's last RELEASE / DECLINE
/// retransmission (RFC 8415 §18.2.6-§18.2.7: REL_MAX_RC / DEC_MAX_RC 4, timeouts from 1 s
/// doubling) with room to spare.
pub const PENDING_MS: u64 = 60_000;

type Key = (u32, Vec<u8>);

#[derive(Debug, Clone)]
struct Entry {
    deadline: u64,
    resources: Vec<IpNet>,
}

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pending {
    entries: BTreeMap<Key, Entry>,
    /// `(deadline, key)` of every entry.
    order: BTreeSet<(u64, Key)>,
}

impl Pending {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Remembers `message` if it is a RELEASE or DECLINE with a Client Identifier; returns how
    /// many older entries it pushed out.
    pub(crate) fn remember(&mut self, message: &ClientServerMessage, now_ms: u64) -> u64 {
        let declining = match message.msg_type {
            MessageType::Release => false,
            MessageType::Decline => true,
            _ => return 0,
        };
        let Some(duid) = message.options.iter().find_map(|o| match o {
            DhcpOption::ClientId(d) => Some(d.to_vec()),
            _ => None,
        }) else {
            return 0;
        };
        let mut resources = Vec::new();
        for ia in &message.options {
            let inner = match ia {
                DhcpOption::IaNa { options, .. } => options,
                // DECLINE is about addresses only (RFC 8415 §18.2.8).
                DhcpOption::IaPd { options, .. } if !declining => options,
                _ => continue,
            };
            for o in inner {
                let bound = match o {
                    DhcpOption::IaAddr { address, .. } => bound6(*address, 128),
                    DhcpOption::IaPrefix {
                        prefix,
                        prefix_length,
                        ..
                    } if !declining => bound6(*prefix, *prefix_length),
                    _ => None,
                };
                if let Some(b) = bound {
                    if resources.len() < MAX_RESOURCES {
                        resources.push(b);
                    }
                }
            }
        }
        let key = (message.transaction_id, duid);
        if let Some(old) = self.entries.remove(&key) {
            self.order.remove(&(old.deadline, key.clone()));
        }
        let mut pushed = 0;
        while self.entries.len() >= MAX_PENDING {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
            pushed += 1;
        }
        let deadline = now_ms.saturating_add(PENDING_MS);
        self.order.insert((deadline, key.clone()));
        self.entries.insert(
            key,
            Entry {
                deadline,
                resources,
            },
        );
        pushed
    }

    /// What the RELEASE or DECLINE answered by a Reply with this transaction-id and client
    /// DUID listed; the entry is forgotten.
    pub(crate) fn answered(&mut self, transaction_id: u32, duid: &[u8]) -> Option<Vec<IpNet>> {
        let key = (transaction_id, duid.to_vec());
        let entry = self.entries.remove(&key)?;
        self.order.remove(&(entry.deadline, key));
        Some(entry.resources)
    }

    /// Forgets what waited past its deadline; returns how many.
    pub(crate) fn expire(&mut self, now_ms: u64) -> u64 {
        let mut n = 0;
        while let Some((deadline, _)) = self.order.first() {
            if *deadline > now_ms {
                break;
            }
            if let Some((_, key)) = self.order.pop_first() {
                self.entries.remove(&key);
                n += 1;
            }
        }
        n
    }
}
