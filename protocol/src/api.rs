//! The REST API's request and response bodies (`/api/v1`), one file per resource, shared by the
//! control plane that answers them and the CLI and portal that send them.

mod apps;
mod auth;
mod bindable;
mod collect;
mod deployments;
mod device_types;
mod devices;
mod error;
mod gateway;
mod jobs;
mod locations;
mod models;
mod nodes;
mod notifications;
mod readings;
mod sessions;

pub use apps::{AppVersion, RoleInfo};
pub use auth::{Login, Me, NewUser, PasswordChange, Role, Session, User, UserChange};
pub use bindable::{BindableFilter, BindableKind, BindablePlace, PlaceFilter};
pub use collect::{Collected, Tally};
pub use deployments::{
    Deployment, DeploymentChanges, DeploymentEvent, EventKind, FieldChange, NewDeployment,
    Rollback, RunState, Schedule, Upgrade,
};
pub use device_types::{CommandParam, CommandSpec, ControllerType, SensorType, ValueKind};
pub use devices::{Device, DeviceFilter, DeviceUsers, EVERY_USER, Location, NewDevice};
pub use error::{ErrorBody, FieldError};
pub use gateway::{Accepted, DeliveredCommand, NewReading, NewReadings};
pub use jobs::{JobState, PredictionJob};
pub use locations::{BuildingNode, DeviceCounts, LocationTree, RoomNode, SiteNode};
pub use models::ModelVersion;
pub use nodes::{
    JOIN_CA_CERT_PATH, JoinInstructions, NODE_ENV_PATH, NODE_USER, NewNode, Node,
    join_instructions, save_ca_cert_step,
};
pub use notifications::{
    AppNotification, BatchAccepted, Delivery, NewRecipients, NewWebhook, NotificationBatch,
    Recipients, SmtpSecurity, SmtpServer, SmtpSettings, Urgency, Webhook,
};
pub use readings::{
    HistoryQuery, LastReading, RawReading, ReadingBucket, ReadingHistory, SentCommand,
};
pub use sessions::ActiveSession;
