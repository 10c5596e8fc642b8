//! Which IP addresses a URL may not lead to unless the operator allows private destinations:
//! everything that is not a public unicast address on the internet (loopback, private ranges,
//! link-local — where cloud metadata services such as 169.254.169.254 live — CGNAT, unique
//! local, multicast, unspecified, reserved), including IPv4 addresses embedded in IPv6 ones.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The kind of non-public address `ip` is, or `None` for a public one.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => v6_class(v6),
    }
}

fn v4_class(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let class = match (a, b, c) {
        (0, _, _) => "unspecified",
        (127, _, _) => "loopback",
        (10, _, _) | (192, 168, _) => "private",
        (172, 16..=31, _) => "private",
        (169, 254, _) => "link-local",
        (100, 64..=127, _) => "shared (CGNAT)",
        (224..=239, _, _) => "multicast",
        (240..=255, _, _) => "reserved",
        // IETF protocol assignments, benchmarking, and the documentation networks.
        (192, 0, 0) | (198, 18..=19, _) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "reserved",
        _ => return None,
    };
    Some(class)
}

fn v6_class(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = embedded_v4(ip) {
        // `::ffff:127.0.0.1` reaches 127.0.0.1: judge the IPv4 address it carries.
        return v4_class(v4);
    }
    let first = ip.segments()[0];
    let class = match first {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        0xfc00..=0xfdff => "unique local",
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local",
        0xff00..=0xffff => "multicast",
        0x2001 if ip.segments()[1] == 0x0db8 => "reserved",
        _ => return None,
    };
    Some(class)
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`),
/// NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:aabb:ccdd::`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        // `::` and `::1` are IPv6's own; other `::a.b.c.d` are the deprecated compatible form.
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0, _, _] => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(ip: &str) -> Option<&'static str> {
        non_public(ip.parse().unwrap())
    }

    #[test]
    fn private_and_special_ipv4_ranges_are_not_public() {
        for (ip, expected) in [
            ("127.0.0.1", "loopback"), ("127.255.0.2", "loopback"), ("10.1.2.3", "private"),
            ("172.16.0.1", "private"), ("172.31.255.255", "private"), ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"), ("100.64.0.1", "shared (CGNAT)"), ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"), ("255.255.255.255", "reserved"), ("198.18.0.1", "reserved"),
        ] {
            assert_eq!(class(ip), Some(expected), "{ip}");
        }
        for ip in ["8.8.8.8", "172.32.0.1", "100.128.0.1", "93.184.216.34", "1.1.1.1"] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges_and_embedded_ipv4_are_judged() {
        for (ip, expected) in [
            ("::1", "loopback"), ("::", "unspecified"), ("fd00::1", "unique local"), ("fc00::1", "unique local"),
            ("fe80::1", "link-local"), ("ff02::1", "multicast"), ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local"), ("::ffff:10.0.0.1", "private"), ("::127.0.0.1", "loopback"),
            ("64:ff9b::7f00:1", "loopback"), ("2002:7f00:1::", "loopback"), ("2001:db8::1", "reserved"),
        ] {
            assert_eq!(class(ip), Some(expected), "{ip}");
        }
        for ip in ["2606:4700:4700::1111", "::ffff:8.8.8.8", "2a00:1450:4001:80b::200e"] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }
}
