//! The engine: everything that touches AWS, kops, SSH keys and the local files, with no
//! terminal dependency. The three front ends drive it the same way: they hand it a Plan and
//! read its Events.

pub mod aws;
pub mod aws_http;
pub mod cloud;
pub mod cluster;
pub mod credentials;
pub mod events;
pub mod iam;
pub mod kinds;
pub mod known;
pub mod kops;
pub mod kubeconfig;
pub mod lease;
pub mod ownership;
pub mod proxy;
pub mod reconcile;
pub mod record;
pub mod s3;
pub mod setup;
pub mod smoke;
pub mod ssh;
pub mod team;
pub mod teardown;
pub mod validate;
