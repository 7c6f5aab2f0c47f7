//! The five roles of the platform.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a user is on the platform. Admins may do everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Admin,
    PlatformConfigurer,
    DataScientist,
    AppDeveloper,
    EndUser,
}

impl Role {
    /// Every role, for listings and for the authorization tests.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::PlatformConfigurer,
        Role::DataScientist,
        Role::AppDeveloper,
        Role::EndUser,
    ];

    /// The role's name as the API and the database spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::PlatformConfigurer => "platform-configurer",
            Role::DataScientist => "data-scientist",
            Role::AppDeveloper => "app-developer",
            Role::EndUser => "end-user",
        }
    }

    /// The role named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }
}
