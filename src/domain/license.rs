//! Licenses and their pools (the contract's four licenses; three are community licenses).

use std::fmt;
use std::str::FromStr;

super::named::named_enum! {
    pub enum License {
        ExternalIdentity = "external_identity",
        CustomerCommunity = "customer_community",
        CustomerCommunityPlus = "customer_community_plus",
        PartnerCommunity = "partner_community",
    }
}

impl License {
    /// Community licenses require a contact (invariant 1).
    pub fn is_community(self) -> bool {
        !matches!(self, License::ExternalIdentity)
    }
}

/// The string that failed to parse as a license: the one parse error every surface
/// reports (native `422 invalid_license`, SCIM `400 invalidValue`, the console's notice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLicense(pub String);

impl fmt::Display for UnknownLicense {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown license {:?}: use external_identity, customer_community, customer_community_plus or partner_community",
            self.0
        )
    }
}

impl std::error::Error for UnknownLicense {}

impl FromStr for License {
    type Err = UnknownLicense;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        License::parse(s).ok_or_else(|| UnknownLicense(s.to_owned()))
    }
}

/// A license pool as read inside the transaction that grants from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicensePool {
    pub license: License,
    /// `None` is unlimited.
    pub capacity: Option<i64>,
    pub used: i64,
}

impl LicensePool {
    pub fn available(&self) -> Option<i64> {
        self.capacity.map(|c| (c - self.used).max(0))
    }

    pub fn has_room(&self) -> bool {
        self.capacity.is_none_or(|c| self.used < c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_license_round_trips_through_its_name() {
        for l in License::ALL {
            assert_eq!(l.as_str().parse::<License>(), Ok(l));
        }
        assert!("gold".parse::<License>().is_err());
        assert!("External_Identity".parse::<License>().is_err());
    }

    #[test]
    fn only_external_identity_is_not_a_community_license() {
        let community: Vec<_> = License::ALL.into_iter().filter(|l| l.is_community()).collect();
        assert_eq!(community.len(), 3);
        assert!(!License::ExternalIdentity.is_community());
    }

    #[test]
    fn pool_room_and_availability() {
        let full = LicensePool { license: License::CustomerCommunity, capacity: Some(2), used: 2 };
        assert!(!full.has_room());
        assert_eq!(full.available(), Some(0));
        let open = LicensePool { license: License::ExternalIdentity, capacity: None, used: 7 };
        assert!(open.has_room());
        assert_eq!(open.available(), None);
    }
}
