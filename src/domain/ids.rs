//! Identifier newtypes, so that a function taking two ids cannot take them swapped
//! (`add_member(site, user)`). Each wraps the UUID text the store keeps.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    )*};
}

id_type!(
    /// A user's id (the same in the native API and SCIM).
    UserId,
    /// An account's id.
    AccountId,
    /// A contact's id.
    ContactId,
    /// A site's id.
    SiteId,
    /// A group's id (SCIM Groups).
    GroupId,
    /// A webhook subscription's id.
    SubscriptionId,
    /// A webhook delivery's id.
    DeliveryId,
    /// A bearer token's id (never its secret).
    TokenId,
    /// A login-as session's id (never its token).
    SessionId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_their_text_and_are_distinct_types() {
        let site = SiteId::new("0190f3a2-7c1e-7d51-a8a8-5d0f6c1b2e10");
        assert_eq!(site.as_str(), "0190f3a2-7c1e-7d51-a8a8-5d0f6c1b2e10");
        assert_eq!(site.to_string(), site.clone().into_string());
        // `fn f(site: &SiteId, user: &UserId)` cannot be called as `f(&user, &site)`: the
        // compiler refuses it, which is the point; nothing to assert at run time.
        let user = UserId::new("u");
        assert_ne!(site.as_str(), user.as_str());
    }
}
