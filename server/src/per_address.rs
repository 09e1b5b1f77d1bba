//! Connections per client address: at most `limits.max_connections_per_address`
//! at once, beside the global `max_connections`, so one client cannot take
//! every slot and keep the others waiting. IPv4 addresses count one by one
//! (an IPv4-mapped IPv6 address as its IPv4 address); IPv6 addresses by
//! their /64, the block one host usually holds.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// The open connections of each address.
#[derive(Debug, Clone)]
pub struct PerAddress {
    limit: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection counted against its address until dropped.
#[derive(Debug)]
pub struct Ticket {
    key: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// The address a connection counts against.
fn key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

impl PerAddress {
    /// At most `limit` connections per address.
    pub fn new(limit: usize) -> PerAddress {
        PerAddress {
            limit,
            open: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Counts one more connection from `ip`; `None` when its address holds
    /// `limit` already (the connection is then closed unserved).
    pub fn enter(&self, ip: IpAddr) -> Option<Ticket> {
        let key = key(ip);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(key).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(Ticket {
            key,
            open: self.open.clone(),
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_limit_and_others_are_counted_apart() {
        let limits = PerAddress::new(2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let first = limits.enter(a).unwrap();
        let _second = limits.enter(a).unwrap();
        assert!(limits.enter(a).is_none());
        assert!(limits.enter(b).is_some());
        drop(first);
        assert!(
            limits.enter(a).is_some(),
            "a closed connection frees its place"
        );
    }

    #[test]
    fn mapped_ipv4_counts_as_ipv4_and_ipv6_by_its_64_block() {
        let limits = PerAddress::new(1);
        let _v4 = limits.enter("192.0.2.7".parse().unwrap()).unwrap();
        assert!(limits.enter("::ffff:192.0.2.7".parse().unwrap()).is_none());
        let _v6 = limits.enter("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert!(
            limits
                .enter("2001:db8:1:2:ffff::9".parse().unwrap())
                .is_none()
        );
        assert!(limits.enter("2001:db8:1:3::1".parse().unwrap()).is_some());
    }
}
