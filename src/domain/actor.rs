//! Who is asking: the principal behind a bearer token, and the label audit records carry.

super::named::named_enum! {
    pub enum Role: "role" {
        Admin = "admin",
        DelegatedAdmin = "delegated_admin",
        Scim = "scim",
        Registration = "registration",
    }
}

/// What a token lets its bearer be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Admin,
    /// Limited to contact-backed users whose contact's account is one of these, and to
    /// putting users into these sites.
    DelegatedAdmin {
        accounts: Vec<String>,
        sites: Vec<String>,
    },
    /// An identity provider. No accounts: it reaches every account (and contactless
    /// users made natively), and its contacts go to the configured default account.
    /// Accounts: it is confined to them — it reads, lists, changes and creates only users
    /// and groups of those accounts — and its contacts go to the first.
    Scim {
        accounts: Vec<String>,
    },
    /// May register users on this one site.
    Registration {
        site_id: String,
    },
}

impl Principal {
    /// The accounts a confined caller (a delegated admin, a confined SCIM token) is
    /// limited to; `None`: not confined.
    pub fn confined_to(&self) -> Option<&[String]> {
        match self {
            Principal::DelegatedAdmin { accounts, .. } => Some(accounts),
            Principal::Scim { accounts } if !accounts.is_empty() => Some(accounts),
            _ => None,
        }
    }

    pub fn role(&self) -> Role {
        match self {
            Principal::Admin => Role::Admin,
            Principal::DelegatedAdmin { .. } => Role::DelegatedAdmin,
            Principal::Scim { .. } => Role::Scim,
            Principal::Registration { .. } => Role::Registration,
        }
    }
}

/// Which surface a request came through: the operator's charts split activity by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Via {
    /// The native API (and the command line).
    #[default]
    Api,
    Scim,
    Console,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// How the audit log names this actor: `token:<id>`, `bootstrap`, `cli`.
    pub label: String,
    pub principal: Principal,
    /// The token's own request quota per minute, when it has one.
    pub request_quota: Option<u32>,
    pub via: Via,
}

/// The source of a change or request as the operator's view counts it: each SCIM token
/// on its own (`scim:<token id>`, `scim:bootstrap`), the native API, self-registration,
/// the console, the command line.
pub fn source_key(label: &str, principal: &Principal, via: Via) -> String {
    match (via, principal) {
        (Via::Console, _) => "console".to_owned(),
        (Via::Scim, _) => format!("scim:{}", label.strip_prefix("token:").unwrap_or(label)),
        (Via::Api, Principal::Registration { .. }) => "registration".to_owned(),
        (Via::Api, _) if label == "cli" => "cli".to_owned(),
        (Via::Api, _) => "native".to_owned(),
    }
}

impl Actor {
    pub fn new(label: impl Into<String>, principal: Principal) -> Self {
        Actor { label: label.into(), principal, request_quota: None, via: Via::Api }
    }

    /// The same actor, on another surface.
    pub fn via(mut self, via: Via) -> Self {
        self.via = via;
        self
    }

    /// See [`source_key`].
    pub fn source(&self) -> String {
        source_key(&self.label, &self.principal, self.via)
    }

    /// The operator at the command line (`scimgate token create`): an admin.
    pub fn cli() -> Self {
        Actor::new("cli", Principal::Admin)
    }

    pub fn role(&self) -> Role {
        self.principal.role()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_surface_and_token_is_its_own_source() {
        let scim = Principal::Scim { accounts: vec![] };
        let registration = Principal::Registration { site_id: "s".into() };
        let cases = [
            ("token:abc", &scim, Via::Scim, "scim:abc"),
            ("bootstrap", &Principal::Admin, Via::Scim, "scim:bootstrap"),
            ("token:adm", &Principal::Admin, Via::Api, "native"),
            ("token:adm", &Principal::Admin, Via::Console, "console"),
            ("token:reg", &registration, Via::Api, "registration"),
            ("cli", &Principal::Admin, Via::Api, "cli"),
        ];
        for (label, principal, via, source) in cases {
            assert_eq!(source_key(label, principal, via), source, "{label} via {via:?}");
        }
        assert_eq!(Actor::new("token:abc", scim.clone()).via(Via::Scim).source(), "scim:abc");
        assert_eq!(Actor::new("token:abc", scim).source(), "native", "the default surface is the API");
    }
}
