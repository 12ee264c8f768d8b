//! Self-registration: a site's switch decides, whoever asks.

use super::PolicyViolation;
use crate::domain::Site;

pub fn can_self_register(site: &Site) -> Result<(), PolicyViolation> {
    if site.self_registration { Ok(()) } else { Err(PolicyViolation::SelfRegistrationDisabled) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sites_with_the_switch_on_accept_registrations() {
        let mut site = Site {
            id: crate::domain::SiteId::new("s"),
            name: "Portal".into(),
            url_path_prefix: "portal".into(),
            self_registration: true,
            created_at: chrono::Utc::now(),
        };
        assert!(can_self_register(&site).is_ok());
        site.self_registration = false;
        assert_eq!(can_self_register(&site), Err(PolicyViolation::SelfRegistrationDisabled));
    }
}
