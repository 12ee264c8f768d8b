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

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, ..] = ip.octets();
    if a == 0 {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        AddressClass::Private
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if ip.is_multicast() {
        AddressClass::Multicast
    } else if a >= 240 {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    // NAT64 (RFC 6052 well-known prefix 64:ff9b::/96) reaches the embedded IPv4 address.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [hi, lo] = [s[6], s[7]];
        return classify_v4(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8));
    }
    if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if s[..6] == [0; 6] {
        AddressClass::Reserved
    } else if (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfec0 {
        AddressClass::Private
    } else if (s[0] & 0xffc0) == 0xfe80 {
        AddressClass::LinkLocal
    } else if ip.is_multicast() {
        AddressClass::Multicast
    } else {
        AddressClass::Public
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
