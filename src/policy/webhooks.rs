//! Webhook rules: which addresses a webhook may reach (no requests into the gateway's own
//! network on a subscriber's say-so), and when a failed delivery is tried again.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::PolicyViolation;

/// What kind of address a webhook host resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    Loopback,
    /// RFC 1918, RFC 6598 shared space, IPv6 unique-local and site-local.
    Private,
    LinkLocal,
    Unspecified,
    Multicast,
    /// Broadcast, the 240/4 block, deprecated IPv4-compatible IPv6: never a web server.
    Reserved,
}

impl AddressClass {
    fn name(self) -> &'static str {
        match self {
            AddressClass::Public => "public",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private",
            AddressClass::LinkLocal => "link-local",
            AddressClass::Unspecified => "unspecified",
            AddressClass::Multicast => "multicast",
            AddressClass::Reserved => "reserved",
        }
    }
}

/// One block of an IANA special-purpose address registry
/// (<https://www.iana.org/assignments/iana-ipv4-special-registry>,
/// <https://www.iana.org/assignments/iana-ipv6-special-registry>), or another block no
/// webhook may reach.
struct Block<A> {
    net: A,
    len: u8,
    class: AddressClass,
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8, class: AddressClass) -> Block<u32> {
    Block { net: u32::from_be_bytes([a, b, c, d]), len, class }
}

/// Every IPv4 block that is not globally reachable, or that carries another address
/// inside it (those are classified by the address they carry: see [`classify_v6`]).
/// The longest matching prefix decides. Blocks the registry marks globally reachable
/// (192.0.0.9/32, 192.0.0.10/32, 192.31.196.0/24, 192.52.193.0/24, 192.175.48.0/24) stay
/// public, except those inside 192.0.0.0/24, refused whole: it is the IETF's, and
/// 192.0.0.192 is a cloud metadata address.
const V4_BLOCKS: &[Block<u32>] = {
    use AddressClass::*;
    &[
        v4(0, 0, 0, 0, 8, Unspecified),       // "this network" (RFC 791)
        v4(10, 0, 0, 0, 8, Private),          // private use (RFC 1918)
        v4(100, 64, 0, 0, 10, Private),       // shared address space (RFC 6598)
        v4(127, 0, 0, 0, 8, Loopback),        // loopback (RFC 1122)
        v4(169, 254, 0, 0, 16, LinkLocal),    // link local (RFC 3927)
        v4(172, 16, 0, 0, 12, Private),       // private use (RFC 1918)
        v4(192, 0, 0, 0, 24, Reserved),       // IETF protocol assignments (RFC 6890), DS-Lite, NAT64 discovery
        v4(192, 0, 2, 0, 24, Reserved),       // documentation TEST-NET-1 (RFC 5737)
        v4(192, 88, 99, 0, 24, Reserved),     // deprecated 6to4 relay anycast (RFC 7526)
        v4(192, 168, 0, 0, 16, Private),      // private use (RFC 1918)
        v4(198, 18, 0, 0, 15, Reserved),      // benchmarking (RFC 2544)
        v4(198, 51, 100, 0, 24, Reserved),    // documentation TEST-NET-2 (RFC 5737)
        v4(203, 0, 113, 0, 24, Reserved),     // documentation TEST-NET-3 (RFC 5737)
        v4(224, 0, 0, 0, 4, Multicast),       // multicast (RFC 5771)
        v4(240, 0, 0, 0, 4, Reserved),        // reserved (RFC 1112)
        v4(255, 255, 255, 255, 32, Reserved), // limited broadcast (RFC 919)
    ]
};

const fn v6(net: u128, len: u8, class: AddressClass) -> Block<u128> {
    Block { net, len, class }
}

/// Every IPv6 block that is not globally reachable. Only 2000::/3 is allocated for global
/// unicast (RFC 4291, IANA IPv6 address space): anything outside it and not listed here
/// is reserved. Blocks that embed an IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo) are
/// classified in [`classify_v6`] before this table.
const V6_BLOCKS: &[Block<u128>] = {
    use AddressClass::*;
    &[
        v6(0, 128, Unspecified),                       // unspecified (RFC 4291)
        v6(1, 128, Loopback),                          // loopback (RFC 4291)
        v6(0, 96, Reserved),                           // deprecated IPv4-compatible (RFC 4291)
        v6(0x0064_ff9b_0001 << 80, 48, Private),       // local-use IPv4/IPv6 translation (RFC 8215)
        v6(0x0100 << 112, 64, Reserved),               // discard-only (RFC 6666)
        v6((0x0100 << 112) | (1 << 64), 64, Reserved), // dummy prefix (RFC 9780)
        v6(0x2001 << 112, 23, Reserved), // IETF protocol assignments (RFC 2928), incl. benchmarking, ORCHID
        v6(0x2001_0db8 << 96, 32, Reserved), // documentation (RFC 3849)
        v6(0x3fff << 112, 20, Reserved), // documentation (RFC 9637)
        v6(0x5f00 << 112, 16, Reserved), // segment routing SIDs (RFC 9602)
        v6(0xfc00 << 112, 7, Private),   // unique local (RFC 4193)
        v6(0xfe80 << 112, 10, LinkLocal), // link-local unicast (RFC 4291)
        v6(0xfec0 << 112, 10, Private),  // deprecated site-local (RFC 3879)
        v6(0xff00 << 112, 8, Multicast), // multicast (RFC 4291)
    ]
};

fn longest_match<A: Copy + Into<u128>>(addr: A, bits: u32, blocks: &[Block<A>]) -> Option<AddressClass> {
    let a: u128 = addr.into();
    blocks
        .iter()
        .filter(|b| {
            let shift = bits - u32::from(b.len);
            let mask = if b.len == 0 { 0 } else { (u128::MAX >> (128 - bits)) >> shift << shift };
            a & mask == b.net.into() & mask
        })
        .max_by_key(|b| b.len)
        .map(|b| b.class)
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    longest_match(u32::from(ip), 32, V4_BLOCKS).unwrap_or(AddressClass::Public)
}

fn embedded_v4(bits: u128, shift: u32) -> Ipv4Addr {
    Ipv4Addr::from((bits >> shift) as u32)
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let bits = u128::from(ip);
    // Addresses that carry an IPv4 address reach it: they are what it is. IPv4-mapped
    // (::ffff:0:0/96, RFC 4291) and NAT64 (64:ff9b::/96, RFC 6052) carry it in the last
    // 32 bits; 6to4 (2002::/16, RFC 3056) in bits 16..48.
    if bits >> 32 == 0xffff {
        return classify_v4(embedded_v4(bits, 0));
    }
    if bits >> 32 == 0x0064_ff9b << 64 {
        return classify_v4(embedded_v4(bits, 0));
    }
    if bits >> 112 == 0x2002 {
        return classify_v4(embedded_v4(bits, 80));
    }
    // Teredo (2001::/32, RFC 4380) sits in 2001::/23 and is refused with it (its client
    // address is obfuscated; its server address may be anything).
    match longest_match(bits, 128, V6_BLOCKS) {
        Some(class) => class,
        None if bits >> 125 == 0b001 => AddressClass::Public,
        None => AddressClass::Reserved,
    }
}

pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// A webhook may reach public addresses only; loopback too when the operator allows it
/// (local use, tests). Every address the host resolves to must pass: a host that also
/// resolves into a private network is refused whole.
pub fn check_target(host: &str, addrs: &[IpAddr], allow_loopback: bool) -> Result<(), PolicyViolation> {
    if addrs.is_empty() {
        return Err(PolicyViolation::WebhookUrlRefused { why: format!("{host} resolves to no address") });
    }
    for ip in addrs {
        let class = classify(*ip);
        let allowed = match class {
            AddressClass::Public => true,
            AddressClass::Loopback => allow_loopback,
            AddressClass::Private
            | AddressClass::LinkLocal
            | AddressClass::Unspecified
            | AddressClass::Multicast
            | AddressClass::Reserved => false,
        };
        if !allowed {
            let hint = if class == AddressClass::Loopback { " (webhooks.allow_loopback permits loopback)" } else { "" };
            let what = if host.trim_matches(['[', ']']) == ip.to_string() {
                format!("{ip} is a {} address", class.name())
            } else {
                format!("{host} resolves to {ip}, a {} address", class.name())
            };
            return Err(PolicyViolation::WebhookUrlRefused {
                why: format!("{what}: webhooks may not target it{hint}"),
            });
        }
    }
    Ok(())
}

/// The longest wait between two attempts, however many failed.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    Retry {
        delay: Duration,
    },
    /// The attempts are used up: the delivery is dead-lettered (retryable by hand).
    Dead,
}

/// Exponential backoff with "equal jitter": attempt `n` (1-based) waits
/// `d/2 + jitter·d/2` with `d = base·2^(n-1)` capped at [`MAX_RETRY_DELAY`], so retries
/// of many deliveries that failed together spread out instead of arriving in a herd.
/// `jitter` is a random number in `[0, 1)`.
pub fn after_failure(attempts: i64, max_attempts: i64, base: Duration, jitter: f64) -> AfterFailure {
    if attempts >= max_attempts {
        return AfterFailure::Dead;
    }
    let exponent = attempts.clamp(1, 32) as u32 - 1;
    let full = base.saturating_mul(2u32.saturating_pow(exponent)).min(MAX_RETRY_DELAY);
    let half = full / 2;
    let delay = half + half.mul_f64(jitter.clamp(0.0, 1.0));
    AfterFailure::Retry { delay }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_are_classified() {
        let table = [
            ("93.184.216.34", AddressClass::Public),
            ("2606:2800:220:1::1", AddressClass::Public),
            ("127.0.0.1", AddressClass::Loopback),
            ("127.8.9.10", AddressClass::Loopback),
            ("::1", AddressClass::Loopback),
            ("::ffff:127.0.0.1", AddressClass::Loopback),
            ("10.1.2.3", AddressClass::Private),
            ("172.16.0.1", AddressClass::Private),
            ("172.31.255.255", AddressClass::Private),
            ("172.32.0.1", AddressClass::Public),
            ("192.168.1.1", AddressClass::Private),
            ("100.64.0.1", AddressClass::Private),
            ("::ffff:10.0.0.1", AddressClass::Private),
            ("64:ff9b::a00:1", AddressClass::Private),
            ("fd00::1", AddressClass::Private),
            ("fec0::1", AddressClass::Private),
            ("169.254.169.254", AddressClass::LinkLocal),
            ("fe80::1", AddressClass::LinkLocal),
            ("0.0.0.0", AddressClass::Unspecified),
            ("0.1.2.3", AddressClass::Unspecified),
            ("::", AddressClass::Unspecified),
            ("224.0.0.1", AddressClass::Multicast),
            ("ff02::1", AddressClass::Multicast),
            ("255.255.255.255", AddressClass::Reserved),
            ("::7f00:1", AddressClass::Reserved),
        ];
        for (addr, class) in table {
            assert_eq!(classify(ip(addr)), class, "{addr}");
        }
    }

    /// Every block of both tables: its first and last address get its class, and the
    /// addresses just outside it do not (unless another block or the allocation rule
    /// covers them).
    #[test]
    fn every_special_purpose_block_is_classified_at_both_ends() {
        for b in V4_BLOCKS {
            let size = 1u64 << (32 - b.len);
            let first = Ipv4Addr::from(b.net);
            let last = Ipv4Addr::from((u64::from(b.net) + size - 1) as u32);
            assert_eq!(classify_v4(first), b.class, "{first}/{}", b.len);
            assert_eq!(classify_v4(last), b.class, "{last} in {first}/{}", b.len);
        }
        for b in V6_BLOCKS {
            let first = Ipv6Addr::from(b.net);
            let last = Ipv6Addr::from(b.net | (u128::MAX.checked_shr(u32::from(b.len)).unwrap_or(0)));
            // The ::/96 block holds :: and ::1, which have their own (longer) entries.
            if b.len == 96 && b.net == 0 {
                assert_eq!(classify_v6(Ipv6Addr::from(2u128)), b.class);
            } else {
                assert_eq!(classify_v6(first), b.class, "{first}/{}", b.len);
            }
            assert_eq!(classify_v6(last), b.class, "{last} in {first}/{}", b.len);
        }
    }

    #[test]
    fn the_gaps_of_the_old_classifier_are_closed() {
        let refused = [
            ("192.0.0.192", AddressClass::Reserved),
            ("192.0.0.1", AddressClass::Reserved),
            ("192.0.0.255", AddressClass::Reserved),
            ("198.18.0.1", AddressClass::Reserved),
            ("198.19.255.255", AddressClass::Reserved),
            ("192.0.2.10", AddressClass::Reserved),
            ("198.51.100.1", AddressClass::Reserved),
            ("203.0.113.9", AddressClass::Reserved),
            ("192.88.99.1", AddressClass::Reserved),
            // 6to4 carrying a private, loopback or metadata IPv4 address
            ("2002:0a00:0001::1", AddressClass::Private),
            ("2002:7f00:0001::", AddressClass::Loopback),
            ("2002:a9fe:a9fe::1", AddressClass::LinkLocal),
            // Teredo and the rest of 2001::/23
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", AddressClass::Reserved),
            ("2001:0:0a00:1::", AddressClass::Reserved),
            ("2001:2::1", AddressClass::Reserved),
            ("2001:db8::1", AddressClass::Reserved),
            ("3fff::1", AddressClass::Reserved),
            ("64:ff9b:1::a00:1", AddressClass::Private),
            ("64:ff9b::c0a8:101", AddressClass::Private),
            ("64:ff9b::7f00:1", AddressClass::Loopback),
            ("::ffff:169.254.169.254", AddressClass::LinkLocal),
            ("::ffff:0:0", AddressClass::Unspecified),
            ("100::1", AddressClass::Reserved),
            ("5f00::1", AddressClass::Reserved),
            // outside 2000::/3: unallocated
            ("4000::1", AddressClass::Reserved),
            ("1::1", AddressClass::Reserved),
        ];
        for (addr, class) in refused {
            assert_eq!(classify(ip(addr)), class, "{addr}");
            assert!(check_target("h", &[ip(addr)], false).is_err(), "{addr}");
        }
        let public = [
            "192.0.1.1",
            "198.17.255.255",
            "198.20.0.0",
            "192.31.196.1",
            "2002:5db8:d822::1", // 6to4 of 93.184.216.34
            "64:ff9b::5db8:d822",
            "2001:200::1",
            "2a00:1450:4001:81c::200e",
        ];
        for addr in public {
            assert_eq!(classify(ip(addr)), AddressClass::Public, "{addr}");
        }
    }

    #[test]
    fn only_public_targets_pass_and_loopback_when_allowed() {
        assert!(check_target("h", &[ip("93.184.216.34")], false).is_ok());
        for refused in ["127.0.0.1", "::1", "10.0.0.1", "169.254.169.254", "0.0.0.0", "224.0.0.1", "fd00::1"] {
            let e = check_target("h", &[ip(refused)], false).unwrap_err();
            assert_eq!(e.code(), "webhook_url_refused", "{refused}");
        }
        assert!(check_target("h", &[ip("127.0.0.1"), ip("::1")], true).is_ok());
        for still_refused in ["10.0.0.1", "192.168.0.1", "169.254.169.254", "0.0.0.0"] {
            assert!(check_target("h", &[ip(still_refused)], true).is_err(), "{still_refused}");
        }
        // One bad address spoils the host.
        assert!(check_target("h", &[ip("93.184.216.34"), ip("10.0.0.1")], false).is_err());
        assert!(check_target("h", &[], true).is_err());
    }

    #[test]
    fn retries_back_off_exponentially_with_jitter_then_die() {
        let base = Duration::from_millis(1000);
        assert_eq!(after_failure(1, 8, base, 0.0), AfterFailure::Retry { delay: Duration::from_millis(500) });
        assert_eq!(after_failure(1, 8, base, 1.0), AfterFailure::Retry { delay: Duration::from_millis(1000) });
        assert_eq!(after_failure(3, 8, base, 0.0), AfterFailure::Retry { delay: Duration::from_millis(2000) });
        assert_eq!(after_failure(4, 8, base, 0.5), AfterFailure::Retry { delay: Duration::from_millis(6000) });
        assert_eq!(after_failure(60, 99, base, 1.0), AfterFailure::Retry { delay: MAX_RETRY_DELAY });
        assert_eq!(after_failure(8, 8, base, 0.5), AfterFailure::Dead);
        assert_eq!(after_failure(9, 8, base, 0.5), AfterFailure::Dead);
    }
}
