//! Who the client is on the network: its address (for throttling) and the URL it reached
//! the gateway by (for `meta.location`, `Location` and the console cookie's `Secure`).
//! `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host` are believed only from a
//! peer in `server.trusted_proxies`; anyone else could write them. `server.public_url`,
//! when set, is the gateway's URL whatever the request says.

use std::net::IpAddr;
use std::str::FromStr;

use actix_web::HttpRequest;
use actix_web::http::header;
use ipnet::IpNet;

/// `server.trusted_proxies` and `server.public_url`, parsed once at start.
#[derive(Debug, Clone, Default)]
pub struct Network {
    trusted: Vec<IpNet>,
    public_url: Option<String>,
}

impl Network {
    /// Parses the proxies (addresses or CIDR blocks) and the public URL; a bad entry stops
    /// start-up with its name.
    pub fn new(trusted: &[String], public_url: Option<&str>) -> Result<Network, String> {
        let trusted = trusted
            .iter()
            .map(|t| {
                let t = t.trim();
                IpNet::from_str(t)
                    .or_else(|_| IpAddr::from_str(t).map(IpNet::from))
                    .map_err(|_| format!("server.trusted_proxies: {t:?} is neither an address nor a CIDR block"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let public_url = match public_url.map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(u) => {
                let parsed = url::Url::parse(u).map_err(|e| format!("server.public_url {u:?}: {e}"))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                    return Err(format!("server.public_url {u:?}: an http(s) URL with a host"));
                }
                Some(u.trim_end_matches('/').to_owned())
            }
        };
        Ok(Network { trusted, public_url })
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(&ip))
    }

    /// The first value of a forwarding header, from a trusted peer only.
    fn forwarded<'a>(&self, req: &'a HttpRequest, name: &str) -> Option<&'a str> {
        let peer = req.peer_addr()?.ip();
        if !self.trusts(peer) {
            return None;
        }
        let v = req.headers().get(name)?.to_str().ok()?;
        v.split(',').next().map(str::trim).filter(|s| !s.is_empty())
    }

    /// The client's address: the socket's peer, or — when the peer is a trusted proxy —
    /// the right-most `X-Forwarded-For` address that is not itself a trusted proxy.
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        if !self.trusts(peer) {
            return Some(peer);
        }
        let chain: Vec<IpAddr> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| IpAddr::from_str(s.trim()).ok())
            .collect();
        Some(chain.iter().rev().copied().find(|ip| !self.trusts(*ip)).or(chain.first().copied()).unwrap_or(peer))
    }

    /// Whether the client reached the gateway over TLS (through a trusted proxy that says
    /// so, or `server.public_url` being https).
    pub fn over_tls(&self, req: &HttpRequest) -> bool {
        if let Some(u) = &self.public_url {
            return u.starts_with("https:");
        }
        if req.app_config().secure() {
            return true;
        }
        self.forwarded(req, "x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https"))
    }

    /// `scheme://host[:port]` the client reached the gateway by.
    pub fn base_url(&self, req: &HttpRequest) -> String {
        if let Some(u) = &self.public_url {
            return u.clone();
        }
        let scheme = if self.over_tls(req) { "https" } else { "http" };
        let host = self
            .forwarded(req, "x-forwarded-host")
            .or_else(|| req.headers().get(header::HOST).and_then(|h| h.to_str().ok()))
            // HTTP/2 carries the host in the `:authority` pseudo-header, which is the URI's.
            .or_else(|| req.uri().authority().map(|a| a.as_str()))
            .filter(|h| valid_host(h))
            .map(str::to_owned)
            .unwrap_or_else(|| req.app_config().host().to_owned());
        format!("{scheme}://{host}")
    }
}

/// A `Host` value that may go into a URL: a name or address and an optional port.
fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'_'))
}
