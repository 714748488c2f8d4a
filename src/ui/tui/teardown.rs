//! The guided teardown's part of the wizard's state, and its pure update: the inventory with
//! its toggles and expandable resource types, the typed confirmation, the progress rows fed by
//! the engine's events, and the result. The engine plans and deletes; this only shows and asks.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tui_input::{Input, InputRequest};

use super::command::Command;
use super::status::StepStatus;
use crate::engine::events::Event;
use crate::engine::teardown::{Inventory, ItemKind};
use crate::plan::{StepId, TeardownOptions};

/// The teardown toggles, in the order Tab reaches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toggle {
    KeepBucket,
    KeepIam,
    DeleteSshKey,
}

impl Toggle {
    pub const ALL: [Toggle; 3] = [Toggle::KeepBucket, Toggle::KeepIam, Toggle::DeleteSshKey];

    pub fn label(self) -> &'static str {
        match self {
            Toggle::KeepBucket => "Keep the state bucket",
            Toggle::KeepIam => "Keep the IAM group, user, key and profile",
            Toggle::DeleteSshKey => "Delete the SSH key pair",
        }
    }

    pub fn flag(self) -> &'static str {
        match self {
            Toggle::KeepBucket => "--keep-bucket",
            Toggle::KeepIam => "--keep-iam",
            Toggle::DeleteSshKey => "--delete-ssh-key",
        }
    }

    pub fn get(self, o: &TeardownOptions) -> bool {
        match self {
            Toggle::KeepBucket => o.keep_bucket,
            Toggle::KeepIam => o.keep_iam,
            Toggle::DeleteSshKey => o.delete_ssh_key,
        }
    }

    fn flip(self, o: &mut TeardownOptions) {
        match self {
            Toggle::KeepBucket => o.keep_bucket = !o.keep_bucket,
            Toggle::KeepIam => o.keep_iam = !o.keep_iam,
            Toggle::DeleteSshKey => o.delete_ssh_key = !o.delete_ssh_key,
        }
    }
}

/// What has the keys on the inventory page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The cluster-name field (where the page opens).
    Name,
    Toggle(Toggle),
    /// A resource type of kops's list, by its position in `Inventory::cloud_types`.
    Type(usize),
}

/// One row of the progress page: an action of the plan, by its step and index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub step: StepId,
    pub index: usize,
    pub text: String,
    pub what: ItemKind,
    pub status: StepStatus,
    /// Deleted and total versions while a bucket empties.
    pub progress: Option<(usize, usize)>,
}

/// How teardown ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The final check ran: what is still there (empty: nothing), and the disks of
    /// PersistentVolumes it kept (named, never silently left).
    Checked(Vec<String>, Vec<String>),
    /// The engine stopped: its message.
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct Teardown {
    /// `None` while the engine prepares; the inventory, or why it could not be made.
    pub inventory: Option<Result<Inventory, String>>,
    /// The toggles as set on screen (the inventory follows once the engine has replanned).
    pub opts: TeardownOptions,
    pub confirm: Input,
    pub focus: Focus,
    pub expanded: BTreeSet<String>,
    /// Lines of the inventory scrolled past (PgDn / PgUp).
    pub scroll: usize,
    /// Said after Enter with a name that does not match.
    pub refused: Option<String>,
    pub rows: Vec<Row>,
    /// kops's resources (`type:id`) deleted so far, with when (since the step began).
    pub deleted: BTreeMap<String, Duration>,
    /// The resources kops last reported as waiting on others.
    pub blocked: Vec<String>,
    pub running: bool,
    pub ended: Option<Ended>,
}

impl Teardown {
    pub fn new(opts: TeardownOptions) -> Teardown {
        Teardown {
            inventory: None,
            opts,
            confirm: Input::default(),
            focus: Focus::Name,
            expanded: BTreeSet::new(),
            scroll: 0,
            refused: None,
            rows: Vec::new(),
            deleted: BTreeMap::new(),
            blocked: Vec::new(),
            running: false,
            ended: None,
        }
    }

    pub fn ready(&self) -> Option<&Inventory> {
        self.inventory.as_ref().and_then(|i| i.as_ref().ok())
    }

    /// Tab order: the name, the toggles, then each resource type.
    fn focus_order(&self) -> Vec<Focus> {
        let mut order = vec![Focus::Name];
        order.extend(Toggle::ALL.map(Focus::Toggle));
        let types = self.ready().map_or(0, |i| i.cloud_types().len());
        order.extend((0..types).map(Focus::Type));
        order
    }

    /// About how many lines the inventory takes (wrapping aside): how far PgDn can go.
    pub fn line_count(&self) -> usize {
        let Some(inv) = self.ready() else { return 0 };
        let actions: usize = inv.steps.iter().map(|s| 1 + s.actions.len() * 2).sum();
        let open: usize = inv.cloud.iter().filter(|r| self.expanded.contains(&r.kind)).count();
        let kube = crate::ui::inventory::kubernetes(inv).lines().count();
        let summary = crate::ui::inventory::summary(inv).len() * 2;
        3 + summary + actions + inv.cloud_types().len() + open + inv.kept.len() * 2 + kube * 2
    }

    pub fn move_focus(&mut self, by: i64) {
        let order = self.focus_order();
        let at = order.iter().position(|f| *f == self.focus).unwrap_or(0) as i64;
        let n = order.len() as i64;
        self.focus = order[(at + by).rem_euclid(n) as usize];
    }

    pub fn edit(&mut self, req: InputRequest) {
        self.confirm.handle(req);
        self.refused = None;
    }

    /// Space on a toggle or a type: flips the toggle (the engine plans again) or expands the
    /// type to its names and ids.
    pub fn toggle(&mut self) -> Vec<Command> {
        match self.focus {
            Focus::Name => Vec::new(),
            Focus::Toggle(t) => {
                t.flip(&mut self.opts);
                vec![Command::TeardownOptions(self.opts)]
            }
            Focus::Type(i) => {
                if let Some((kind, _)) =
                    self.ready().and_then(|inv| inv.cloud_types().get(i).cloned())
                    && !self.expanded.remove(&kind)
                {
                    self.expanded.insert(kind);
                }
                Vec::new()
            }
        }
    }

    /// Enter on the inventory: the right name starts; anything else deletes nothing, and says so.
    pub fn confirm(&mut self) -> Vec<Command> {
        if self.focus != Focus::Name {
            return self.toggle();
        }
        let Some(inventory) = self.ready() else { return Vec::new() };
        if inventory.is_empty() {
            return Vec::new();
        }
        // The plan on screen must be the plan that runs: wait for the engine's replan.
        if inventory.opts != self.opts {
            return Vec::new();
        }
        let typed = self.confirm.value().trim();
        if typed != inventory.cluster {
            self.refused = Some(match typed {
                "" => "type the cluster's name to delete it: nothing was deleted".to_string(),
                _ => format!(
                    "{typed:?} is not the cluster's name ({}): nothing was deleted",
                    inventory.cluster
                ),
            });
            return Vec::new();
        }
        let rows = rows_of(inventory);
        self.refused = None;
        self.rows = rows;
        self.running = true;
        vec![Command::StartTeardown]
    }

    pub fn prepared(&mut self, inventory: Result<Inventory, String>) {
        // A replan keeps what the user set; a type that no longer exists folds away.
        if let Ok(inv) = &inventory {
            let kinds: BTreeSet<String> = inv.cloud_types().into_iter().map(|(k, _)| k).collect();
            self.expanded.retain(|k| kinds.contains(k));
        }
        self.inventory = Some(inventory);
    }

    pub fn event(&mut self, event: &Event, now_ms: u64) {
        let row = |rows: &mut Vec<Row>, step: StepId, index: usize| -> Option<usize> {
            rows.iter().position(|r| r.step == step && r.index == index)
        };
        match event {
            Event::ActionStarted { step, index } => {
                if let Some(i) = row(&mut self.rows, *step, *index) {
                    self.rows[i].status = StepStatus::Running { since_ms: now_ms };
                }
            }
            Event::ActionFinished { step, index, elapsed } => {
                if let Some(i) = row(&mut self.rows, *step, *index) {
                    self.rows[i].status = StepStatus::Finished { elapsed: *elapsed };
                }
            }
            Event::Progress { step, index, done, total } => {
                if let Some(i) = row(&mut self.rows, *step, *index) {
                    self.rows[i].progress = Some((*done, *total));
                }
            }
            Event::CloudDeleted { resource, elapsed, .. } => {
                self.deleted.insert(resource.clone(), *elapsed);
                self.blocked.retain(|r| r != resource);
            }
            Event::CloudBlocked { resources, .. } => self.blocked = resources.clone(),
            // The failed action's own time, as its row counted it: the event's is the whole
            // step's, and the rows are actions.
            Event::StepFailed { step, .. } => {
                for r in self.rows.iter_mut().filter(|r| r.step == *step) {
                    if let StepStatus::Running { .. } = r.status {
                        r.status = StepStatus::Failed { elapsed: r.status.spent(now_ms) };
                    }
                }
            }
            _ => {}
        }
    }

    pub fn ended(&mut self, ended: Ended, now_ms: u64) {
        self.running = false;
        if let Ended::Failed(_) = ended {
            for r in &mut self.rows {
                if let StepStatus::Running { .. } = r.status {
                    r.status = StepStatus::Failed { elapsed: r.status.spent(now_ms) };
                }
            }
        }
        self.ended = Some(ended);
    }

    /// Each resource type of kops's list with how many of it there are, how many are deleted,
    /// and its state now.
    pub fn cloud_rows(&self) -> Vec<CloudRow> {
        let Some(inv) = self.ready() else { return Vec::new() };
        let cluster_row = self.rows.iter().find(|r| r.what == ItemKind::Cluster);
        inv.cloud_types()
            .into_iter()
            .map(|(kind, total)| {
                let ids: Vec<String> = inv
                    .cloud
                    .iter()
                    .filter(|r| r.kind == kind)
                    .map(|r| format!("{}:{}", r.kind, r.id))
                    .collect();
                let deleted: Vec<Duration> =
                    ids.iter().filter_map(|id| self.deleted.get(id).copied()).collect();
                let blocked = ids.iter().filter(|id| self.blocked.contains(id)).count();
                let state = match cluster_row.map(|r| &r.status) {
                    _ if deleted.len() == total => {
                        CloudState::Deleted(deleted.iter().max().copied().unwrap_or_default())
                    }
                    Some(StepStatus::Failed { .. }) => CloudState::Failed,
                    Some(StepStatus::Finished { elapsed }) => CloudState::Deleted(*elapsed),
                    _ if blocked > 0 => CloudState::Blocked(blocked),
                    Some(StepStatus::Running { .. }) => CloudState::Deleting,
                    _ => CloudState::Waiting,
                };
                CloudRow { kind, total, deleted: deleted.len(), state }
            })
            .collect()
    }

    /// What is still there after a failure, one line per step that did not finish: kops's
    /// resources not deleted by type, then each action not done (policies counted).
    pub fn still_there(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut steps: Vec<StepId> = self.rows.iter().map(|r| r.step).collect();
        steps.dedup();
        for step in steps {
            let mut parts = Vec::new();
            let mut policies: Vec<&str> = Vec::new();
            for r in self.rows.iter().filter(|r| r.step == step) {
                if matches!(r.status, StepStatus::Finished { .. }) {
                    continue;
                }
                match &r.what {
                    ItemKind::Cluster => {
                        let cloud: Vec<String> = self
                            .cloud_rows()
                            .into_iter()
                            .filter(|c| c.deleted < c.total)
                            .map(|c| format!("{} × {}", c.total - c.deleted, c.kind))
                            .collect();
                        parts.push(match cloud.is_empty() {
                            true => format!("cluster {} (its state in the bucket)", self.cluster()),
                            false => format!(
                                "cluster {} and its cloud resources: {}",
                                self.cluster(),
                                cloud.join(", ")
                            ),
                        });
                    }
                    ItemKind::Policy { group } => policies.push(group),
                    _ => parts.push(r.text.clone()),
                }
            }
            if let Some(group) = policies.first() {
                parts.push(format!("{} policy attachments on group {group}", policies.len()));
            }
            if !parts.is_empty() {
                lines.push(format!("{}: {}", noun(step), parts.join("; ")));
            }
        }
        lines
    }

    fn cluster(&self) -> &str {
        self.ready().map_or("", |i| i.cluster.as_str())
    }
}

/// What a teardown step is about, as the "still there" lines name it.
fn noun(step: StepId) -> &'static str {
    use crate::plan::TeardownStep as T;
    match step {
        StepId::Teardown(T::DeleteServices) => "Services' load balancers",
        StepId::Teardown(T::DeleteCluster) => "Cluster",
        StepId::Teardown(T::DeleteStateStore) => "State store",
        StepId::Teardown(T::DeleteIam) => "IAM",
        StepId::Teardown(T::RemoveProfile) => "Profile",
        StepId::Teardown(T::DeleteSshKey) => "SSH key",
        StepId::Setup(_) => "Setup",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudState {
    Waiting,
    Deleting,
    /// This many of the type wait on others.
    Blocked(usize),
    Deleted(Duration),
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudRow {
    pub kind: String,
    pub total: usize,
    pub deleted: usize,
    pub state: CloudState,
}

/// The progress rows: one per action that deletes something, in the plan's order.
fn rows_of(inventory: &Inventory) -> Vec<Row> {
    inventory
        .steps
        .iter()
        .flat_map(|step| {
            step.actions.iter().enumerate().filter_map(move |(index, item)| {
                let item = item.as_ref()?;
                Some(Row {
                    step: step.id,
                    index,
                    text: item.text.clone(),
                    what: item.what.clone(),
                    status: StepStatus::Waiting,
                    progress: None,
                })
            })
        })
        .collect()
}
