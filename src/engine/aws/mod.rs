//! AWS access: clients from the standard chain, the wizard's own signed requests, errors in
//! words a user can act on, and the AWS resources the wizard reads and makes (IAM, the cloud
//! check, the shared credentials files). The lowest room: it uses only `events` and `proxy`.

pub mod clients;
pub mod cloud;
pub mod credentials;
pub mod error;
pub mod http;
pub mod iam;
