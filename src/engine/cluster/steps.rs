//! The cluster half of setup: the SSH key, `kops create cluster`, `kops update cluster --yes
//! --admin`, and validation on the wizard's own timer. Each step is idempotent through the
//! journal and what the state store holds, so a rerun resumes where a run stopped.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::kops::{self, Kops, Stream};
use super::ssh::{self, Decision};
use super::validate::{self, Phase};
use crate::answers::{KeyType, Ssh};
use crate::engine::events::{Change, Event, Validation};
use crate::fsutil::expand_home;
use crate::journal::{Kind, LastSmokeTest, LastValidation, State};
use crate::plan::StepId;
use crate::rules;

// The cluster half of setup: methods of the run's own Setup, failing with its error. The one
// use of a room above this one (see mod.rs).
use crate::engine::setup::{Setup, SetupError};

impl<'a> Setup<'a> {
    /// kops, its calls that write fenced by the team's lock this run holds.
    fn kops(&self) -> Result<Kops, SetupError> {
        let kops = self.kops.ok_or(SetupError::NotAvailable("kops"))?;
        Ok(kops.clone().fenced(self.team.fence()))
    }

    /// The SSH key: use the one at the answers' path, or generate the pair when there is none.
    /// An existing key is never overwritten; `ssh.overwrite` moves a conflicting pair aside.
    pub(in crate::engine) async fn ensure_ssh_key(
        &mut self,
        step: StepId,
        generate: bool,
    ) -> Result<(), SetupError> {
        let started = Instant::now();
        let a = self.answers;
        let shown = a.ssh.public_key.clone();
        let public = expand_home(&a.ssh.public_key);
        let private = expand_home(&a.ssh.private_key());
        let wanted = a.ssh.key_type;
        let state = ssh::inspect(&public)?;
        // The plan's action says whether to generate (it follows `ssh.generate`).
        let answers = Ssh { generate, ..a.ssh.clone() };
        let conflict = match ssh::decide(&state, &answers, &private) {
            Decision::Use { info, private_missing: false } => {
                self.record_existing(Kind::SshKey, &shown, None).await?;
                let what =
                    format!("SSH key {shown} ({}, {}) used", info.algorithm, info.fingerprint);
                self.sink.item(step, Change::Unchanged, what, started.elapsed());
                return Ok(());
            }
            Decision::Use { info, private_missing: true } => {
                self.record_existing(Kind::SshKey, &shown, None).await?;
                let what = format!(
                    "SSH key {shown} ({}) used, but its private key {} is missing: you will not be able to SSH to the nodes",
                    info.fingerprint,
                    private.display()
                );
                self.sink.item(step, Change::Warning, what, started.elapsed());
                return Ok(());
            }
            Decision::Refuse(why) => return Err(SetupError::Blocked(why)),
            Decision::Generate { conflict } => conflict,
        };
        if conflict.is_some() {
            for moved in move_aside(&[&private, &public])? {
                let what = format!("moved {} aside (ssh.overwrite)", moved.display());
                self.sink.item(step, Change::Warning, what, started.elapsed());
            }
        }
        self.journal.record(Kind::SshKey, &shown, None, State::Intent).await?;
        let info = generate_key(private.clone(), wanted).await?;
        // The fingerprint lets teardown tell this pair from one swapped in at the same path.
        self.journal.record_ssh_key(&shown, &info.fingerprint).await?;
        let what = format!(
            "SSH key pair generated: {} (private, 0600) and {shown} ({wanted}, {})",
            private.display(),
            info.fingerprint
        );
        self.sink.item(step, Change::Created, what, started.elapsed());
        Ok(())
    }

    /// `kops create cluster`, unless the state store already holds the cluster. A cluster
    /// there that this machine's setup made (the record says so, or an unfinished create of
    /// ours left it and its SSH key is ours) is continued; any other is never touched: no
    /// create, no SSH key change (the plan of such a setup is a join, see `team`).
    pub(in crate::engine) async fn create_cluster(
        &mut self,
        step: StepId,
        args: &[String],
    ) -> Result<(), SetupError> {
        let started = Instant::now();
        let name = self.answers.cluster.name.clone();
        let bucket = self.bucket()?;
        let exists = self.clients.object_exists(&bucket, &format!("{name}/config")).await?;
        let ours_key = ssh::read_public(&expand_home(&self.answers.ssh.public_key))?;
        if exists {
            let entry = self.journal.find(Kind::Cluster, &name).cloned();
            let made_here = match &entry {
                Some(e) if e.state == State::Created => e.made_here(),
                // An intent is not ownership: the cluster is the unfinished create's only if
                // its admin SSH key is the one that create gave kops.
                Some(e) if e.state == State::Intent => {
                    let proof = crate::engine::team::ownership::cluster_has_key(
                        self.clients,
                        &bucket,
                        &name,
                        e.fingerprint.as_deref(),
                    )
                    .await?;
                    let state = if proof { State::Created } else { State::Failed };
                    self.journal.record(Kind::Cluster, &name, None, state).await?;
                    proof
                }
                _ => false,
            };
            if !made_here {
                return Err(SetupError::Blocked(format!(
                    "cluster {name} exists in s3://{bucket} and was not set up by kops-wizard on \
                     this machine; setup does not change it (no create, no update, no SSH key). \
                     Run `kops-wizard setup` again to join it: you get your own access, the \
                     cluster stays as it is"
                )));
            }
            self.sink.item(
                step,
                Change::Unchanged,
                format!("cluster {name} exists in s3://{bucket} (made by an earlier run)"),
                started.elapsed(),
            );
            return self.sync_ssh_key(step).await;
        }
        // A spec made now (the first time, or again after it was deleted by hand) has not
        // been deployed, whatever an earlier run recorded.
        self.journal.forget(|e| !(e.kind == Kind::ClusterDeployed && e.id == name)).await?;
        // The key kops is given goes with the intent: it is the proof that a cluster found
        // after an interrupted create is that create's.
        self.journal
            .record_fingerprinted(Kind::Cluster, &name, State::Intent, &ours_key.fingerprint)
            .await?;
        if let Err(e) = self.run_kops(step, args).await {
            // kops said no and wrote nothing: the intent is settled, so a cluster someone
            // makes later under this name is never taken for the wizard's.
            if !self.clients.object_exists(&bucket, &format!("{name}/config")).await? {
                self.journal.record(Kind::Cluster, &name, None, State::Failed).await?;
            }
            return Err(e);
        }
        self.journal
            .record_fingerprinted(Kind::Cluster, &name, State::Created, &ours_key.fingerprint)
            .await?;
        self.journal.set_cluster_settings(super::settings::settings(self.answers)).await?;
        let what = format!("cluster {name} configured in s3://{bucket} (kops create cluster)");
        self.sink.item(step, Change::Created, what, started.elapsed());
        Ok(())
    }

    /// `kops export kubeconfig --admin`: this engineer's context for a cluster that exists.
    pub(in crate::engine) async fn export_kubeconfig(
        &mut self,
        step: StepId,
        args: &[String],
    ) -> Result<(), SetupError> {
        let started = Instant::now();
        let name = self.answers.cluster.name.clone();
        self.run_kops(step, args).await?;
        // kops's default for `--admin` without a duration.
        let expires = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_hours(18))
            .map(|t| t.round(jiff::Unit::Minute).map(|t| t.to_string()).unwrap_or_default())
            .unwrap_or_default();
        let what = format!(
            "kubectl context {name} written with an admin certificate that expires in 18h \
             (about {expires}); run `kops export kubeconfig --admin` again for a new one"
        );
        self.sink.item(step, Change::Created, what, started.elapsed());
        Ok(())
    }

    /// kops allows one admin key on AWS: if the cluster's differs from ours, replace it.
    async fn sync_ssh_key(&mut self, step: StepId) -> Result<(), SetupError> {
        let started = Instant::now();
        let name = self.answers.cluster.name.clone();
        let public = expand_home(&self.answers.ssh.public_key);
        let ours = ssh::read_public(&public)?;
        let kops = self.kops()?;
        let listed = kops
            .run(&args(&["get", "sshpublickey", "--name", &name, "-o", "json"]), |_, _| {})
            .await?;
        let theirs: Vec<String> = if listed.status.success() {
            serde_json::from_str::<Vec<serde_json::Value>>(listed.stdout.trim())
                .unwrap_or_default()
                .iter()
                .filter_map(|k| k["publicKey"].as_str().map(key_material))
                .collect()
        } else {
            Vec::new() // "no SSH public key found"
        };
        if theirs.iter().any(|k| *k == key_material(&ours.openssh)) {
            let what = format!("the cluster's SSH key is {} already", ours.fingerprint);
            self.sink.item(step, Change::Unchanged, what, started.elapsed());
            return Ok(());
        }
        let key_path = public.display().to_string();
        if !theirs.is_empty() {
            self.run_kops(step, &args(&["delete", "sshpublickey", "--name", &name])).await?;
        }
        self.run_kops(step, &args(&["create", "sshpublickey", "--name", &name, "-i", &key_path]))
            .await?;
        let what = format!(
            "the cluster's SSH key replaced with {} ({})",
            self.answers.ssh.public_key, ours.fingerprint
        );
        self.sink.item(step, Change::Created, what, started.elapsed());
        Ok(())
    }

    /// `kops update cluster --yes --admin`, once: the journal remembers that it ran.
    pub(in crate::engine) async fn update_cluster(
        &mut self,
        step: StepId,
        args: &[String],
    ) -> Result<(), SetupError> {
        let started = Instant::now();
        let name = self.answers.cluster.name.clone();
        // The journal's word and the state store's: `update --yes` writes
        // cluster-completed.spec, and a cluster deleted by hand has none.
        let recorded = self
            .journal
            .find(Kind::ClusterDeployed, &name)
            .is_some_and(|e| e.state == State::Created);
        let deployed = recorded
            && self
                .clients
                .object_exists(&self.bucket()?, &format!("{name}/cluster-completed.spec"))
                .await?;
        if deployed {
            let what = format!("cluster {name} was deployed by an earlier run");
            self.sink.item(step, Change::Unchanged, what, started.elapsed());
            return Ok(());
        }
        // `update --yes` changes the cloud: only for a cluster this machine's setup made.
        let made_here = self
            .journal
            .find(Kind::Cluster, &name)
            .is_some_and(|e| e.state == State::Created && e.made_here());
        if !made_here {
            return Err(SetupError::Blocked(format!(
                "cluster {name} was not set up by kops-wizard on this machine: setup does not run \
                 `kops update cluster --yes` on it. Run `kops-wizard setup` to join it instead"
            )));
        }
        self.journal.record(Kind::ClusterDeployed, &name, None, State::Intent).await?;
        self.run_kops(step, args).await?;
        self.journal.record(Kind::ClusterDeployed, &name, None, State::Created).await?;
        let what = format!(
            "cluster {name} deployed: its cloud resources are being created, kubectl context {name} set"
        );
        self.sink.item(step, Change::Created, what, started.elapsed());
        Ok(())
    }

    /// Single-shot `kops validate cluster -o json` every `interval` until the cluster is
    /// ready or `wait` runs out. Between attempts the process only sleeps.
    pub(in crate::engine) async fn validate_cluster(
        &mut self,
        step: StepId,
        wait: &str,
        interval: &str,
    ) -> Result<(), SetupError> {
        let started = Instant::now();
        let wait = rules::parse_duration(wait).map_err(SetupError::Blocked)?;
        let interval = rules::parse_duration(interval).map_err(SetupError::Blocked)?;
        let name = self.answers.cluster.name.clone();
        let store = format!("s3://{}", self.bucket()?);
        let kops = self.kops()?;
        let listed = kops
            .run_ok(&args(&["get", "instancegroups", "--name", &name, "-o", "json"]), |_, _| {})
            .await?;
        let groups = validate::parse_instance_groups(&listed.stdout)?;
        self.ensure_kubeconfig_context(step, &name, &store).await?;
        let mut number = 0;
        loop {
            number += 1;
            let out = kops.run(&kops::validate_once_args(&name, &store), |_, _| {}).await?;
            for line in &out.stderr {
                tracing::debug!(target: "kops", "validate: {line}");
            }
            let attempt = validate::classify(
                out.status.success(),
                &out.stdout,
                &out.stderr.join("\n"),
                &groups,
            )?;
            let elapsed = started.elapsed();
            self.record_validation(&attempt).await?;
            let phase = attempt.phase;
            let last = attempt.clone();
            self.sink.send(Event::Validation(Box::new(Validation {
                number,
                elapsed,
                wait,
                attempt,
            })));
            if phase == Phase::Ready {
                let what = format!(
                    "cluster {name} is ready: {}/{} nodes",
                    last.ready_nodes, last.expected_nodes
                );
                self.sink.item(step, Change::Created, what, elapsed);
                return Ok(());
            }
            if elapsed >= wait {
                return Err(SetupError::ValidationTimedOut {
                    cluster: name,
                    wait: rules::format_duration(wait),
                    phase: phase.describe(),
                    failures: last
                        .failures
                        .iter()
                        .map(|f| format!("{}: {}", f.kind, f.message))
                        .collect(),
                });
            }
            // The last attempt falls on the deadline itself, not an interval before it.
            tokio::time::sleep(interval.min(wait - elapsed)).await;
        }
    }

    /// The smoke test after validation. Its failure is a warning, not a lost cluster: the
    /// cluster is up, the record says why the test failed, and `kops-wizard smoke-test` runs
    /// it again.
    pub(in crate::engine) async fn smoke_test(
        &mut self,
        step: StepId,
        cluster: &str,
        image: &str,
    ) -> Result<(), SetupError> {
        let started = Instant::now();
        let store = format!("s3://{}", self.bucket()?);
        // The API is reached with an admin certificate of this run's own, from the state store:
        // the one in ~/.kube/config may have run out (it lasts 18 hours), or be missing.
        let cloud = crate::engine::aws::cloud::Cloud::new(self.clients);
        let sink = self.sink.clone();
        let kops = self.kops()?;
        let result = async {
            let admin = super::kubeconfig::FreshAdmin::export(&kops, cluster, &store)
                .await
                .map_err(|e| e.to_string())?;
            super::smoke::run(&admin.path(), cluster, image, &cloud, |phase| {
                tracing::info!(target: "smoke", "{}", phase.describe());
                sink.send(Event::Smoke { step, phase });
            })
            .await
            .map_err(|e| e.to_string())
        }
        .await;
        let elapsed = started.elapsed();
        let record = match result {
            Ok(passed) => {
                let what = format!(
                    "both pods answered through load balancer {} at {}: {}",
                    passed.load_balancer,
                    passed.url,
                    passed.pods.join(", ")
                );
                self.sink.item(step, Change::Created, what, elapsed);
                LastSmokeTest { at: crate::journal::now(), passed: Some(passed), failed: None }
            }
            Err(e) => {
                let why = e.to_string();
                tracing::warn!(target: "smoke", "failed: {why}");
                self.sink.item(
                    step,
                    Change::Warning,
                    format!(
                        "smoke test failed: {why} The cluster itself is up and validated; \
                         `kops-wizard smoke-test` runs the test again"
                    ),
                    elapsed,
                );
                LastSmokeTest { at: crate::journal::now(), passed: None, failed: Some(why) }
            }
        };
        self.journal.set_last_smoke_test(record).await?;
        Ok(())
    }

    /// Before 1.31, `kops validate` reaches the API through the kubeconfig context named
    /// after the cluster, which `update --admin` wrote; without it every attempt fails. A
    /// lost context (a new machine, a cleaned ~/.kube) is exported again.
    async fn ensure_kubeconfig_context(
        &mut self,
        step: StepId,
        name: &str,
        store: &str,
    ) -> Result<(), SetupError> {
        let kops = self.kops()?;
        if kops.version >= (kops::Version { major: 1, minor: 31, patch: 0 }) {
            return Ok(());
        }
        let path = kubeconfig_path();
        if kubeconfig_has_context(&path, name) {
            return Ok(());
        }
        let started = Instant::now();
        let export = args(&["export", "kubeconfig", "--name", name, "--state", store, "--admin"]);
        self.run_kops(step, &export).await?;
        let what = format!(
            "kubeconfig context {name} was missing from {}; kops {} validates through it, so it \
             was exported again (kops export kubeconfig --admin)",
            path.display(),
            kops.version
        );
        self.sink.item(step, Change::Warning, what, started.elapsed());
        Ok(())
    }

    async fn record_validation(&mut self, attempt: &validate::Attempt) -> Result<(), SetupError> {
        let result = LastValidation {
            at: crate::journal::now(),
            phase: attempt.phase.describe().to_string(),
            ready_nodes: attempt.ready_nodes,
            expected_nodes: attempt.expected_nodes,
            failures: attempt.failures.iter().map(|f| f.message.clone()).collect(),
        };
        // Only a change is worth a write; the time of the latest attempt alone is not.
        let same = self.journal.last_validation.as_ref().is_some_and(|l| {
            l.phase == result.phase
                && l.ready_nodes == result.ready_nodes
                && l.failures == result.failures
        });
        if !same {
            self.journal.set_last_validation(result).await?;
        }
        Ok(())
    }

    /// Runs kops for a step, its output lines sent as events; `~/` in an argument is expanded
    /// here because no shell stands between the wizard and kops.
    async fn run_kops(&self, step: StepId, args: &[String]) -> Result<kops::Output, SetupError> {
        let args: Vec<String> =
            args.iter()
                .map(|a| {
                    if a.starts_with("~/") {
                        expand_home(a).display().to_string()
                    } else {
                        a.clone()
                    }
                })
                .collect();
        let sink = self.sink.clone();
        let out = self
            .kops()?
            .run_ok(&args, move |stream, line| {
                tracing::info!(target: "kops", "{}: {line}", if stream == Stream::Stdout { "out" } else { "err" });
                sink.send(Event::Output { step, line: line.to_string() });
            })
            .await?;
        Ok(out)
    }

    fn bucket(&self) -> Result<String, SetupError> {
        self.answers
            .state_store
            .bucket
            .clone()
            .ok_or(SetupError::Blocked("state_store.bucket is not set".into()))
    }
}

/// The kubeconfig kops writes to: the first entry of `KUBECONFIG`, else `~/.kube/config`.
fn kubeconfig_path() -> PathBuf {
    match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        Some(list) => std::env::split_paths(&list).next().unwrap_or_default(),
        None => expand_home("~/.kube/config"),
    }
}

/// Whether the kubeconfig has a context named `name`: a `name: <name>` entry in its top-level
/// `contexts:` list (clusters and users carry the same name, so the section matters).
fn kubeconfig_has_context(path: &Path, name: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    let mut in_contexts = false;
    for line in text.lines() {
        if !line.starts_with([' ', '-', '\t']) && !line.trim().is_empty() {
            in_contexts = line.trim_end() == "contexts:";
            continue;
        }
        let item = line.trim().trim_start_matches("- ").trim();
        if in_contexts
            && let Some(value) = item.strip_prefix("name:")
            && value.trim().trim_matches(['"', '\'']) == name
        {
            return true;
        }
    }
    false
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// `ssh-ed25519 AAAA...` without the comment: what identifies a key.
fn key_material(line: &str) -> String {
    line.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

/// RSA-4096 generation is CPU work that takes a moment: keep it off the async threads.
async fn generate_key(private: PathBuf, key_type: KeyType) -> Result<ssh::KeyInfo, SetupError> {
    tokio::task::spawn_blocking(move || ssh::generate(&private, key_type, "kops-wizard"))
        .await
        .map_err(|e| SetupError::Blocked(format!("SSH key generation stopped: {e}")))?
        .map_err(SetupError::from)
}

/// Renames existing files to `<name>.replaced-<unix time>` (`-2`, `-3`, ... when that name is
/// taken: a rename would silently replace an older moved-aside key); returns the new names.
fn move_aside(paths: &[&Path]) -> Result<Vec<PathBuf>, SetupError> {
    let stamp = jiff::Timestamp::now().as_second();
    let mut moved = Vec::new();
    for path in paths.iter().filter(|p| p.exists()) {
        let target = (1..)
            .map(|n| {
                let mut name = path.as_os_str().to_owned();
                name.push(format!(".replaced-{stamp}"));
                if n > 1 {
                    name.push(format!("-{n}"));
                }
                PathBuf::from(name)
            })
            .find(|candidate| std::fs::symlink_metadata(candidate).is_err())
            .ok_or_else(|| {
                SetupError::Blocked(format!("no free name to move {} aside", path.display()))
            })?;
        std::fs::rename(path, &target).map_err(|e| {
            SetupError::Blocked(format!("cannot move {} aside: {e}", path.display()))
        })?;
        moved.push(target);
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_counts_only_in_the_contexts_section() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        let only_cluster = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://api.a\n  name: a.example.com\ncontexts: []\nusers:\n- name: a.example.com\n";
        std::fs::write(&path, only_cluster).unwrap();
        assert!(!kubeconfig_has_context(&path, "a.example.com"));
        let with_context = "clusters: []\ncontexts:\n- context:\n    cluster: a.example.com\n    user: a.example.com\n  name: a.example.com\ncurrent-context: a.example.com\n";
        std::fs::write(&path, with_context).unwrap();
        assert!(kubeconfig_has_context(&path, "a.example.com"));
        assert!(!kubeconfig_has_context(&path, "b.example.com"));
        assert!(!kubeconfig_has_context(&dir.path().join("absent"), "a.example.com"));
    }
}
