//! The cluster: kops, the SSH key, validation, the smoke test, the API's kubeconfig, a roll's
//! progress and setup's cluster steps. Uses `aws`, `store` and `team`; only `steps` reaches up, being the
//! cluster half of `setup::Setup` (its methods, its error).

pub mod drain;
pub mod kops;
pub mod kubeconfig;
pub mod preflight;
pub mod probe;
pub mod roll;
pub mod settings;
pub mod smoke;
pub mod ssh;
pub mod steps;
pub mod validate;
