//! Identifiers. Every entity is named by a UUID (v7 where this code mints them: time-ordered,
//! so ids sort roughly by creation). ptw-core never mints ids itself — that needs a clock and
//! randomness — it only carries them, each wrapped in its own type so a person id can never be
//! passed where a permit id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map($name)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                $name(u)
            }
        }
    };
}

id_type!(
    /// A permit (作业票).
    PermitId
);
id_type!(
    /// One event in a permit's log.
    EventId
);
id_type!(
    /// A person in the plant's register.
    PersonId
);
id_type!(
    /// A work location from the plant's location register.
    LocationId
);
id_type!(
    /// An enrolled device (tablet or desktop); it signs every event made on it.
    DeviceId
);
