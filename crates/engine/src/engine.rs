//! The [`Engine`] handle: what the server and the CLI hold. It owns the store, the step
//! runtimes, the registry of live run actors and the run-strategy queues, and it resumes every
//! unfinished run when it starts.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use baton_model::instance::{StepInstanceStatus, WorkflowInstanceStatus};
use baton_store::{RunKey, Store};
use tokio::sync::{broadcast, mpsc};

use crate::cluster::{ClusterStatus, GroupOwner};
use crate::error::{EngineError, Result};
use crate::params::EvalServices;
use crate::queue::Queues;
use crate::run::RunMsg;
use crate::runtime::RuntimeRegistry;

/// Settings of an engine.
#[derive(Clone)]
pub struct EngineConfig {
    /// Where step runtimes keep per-attempt files (Shell logs): `<work_dir>/<workflow>/<instance>/
    /// <run>/<step>/<attempt>/`.
    pub work_dir: PathBuf,
    /// SEL sandbox limits for every evaluation.
    pub sel_limits: baton_sel::Limits,
    /// The step runtimes by type.
    pub runtimes: RuntimeRegistry,
    /// Most steps a workflow may have, nested ones included. Maestro's limit (300) by default;
    /// raise it for workflows (and benchmarks) that need more.
    pub max_steps: usize,
    /// Largest create request in bytes (Maestro's 256 KB by default).
    pub max_request_bytes: usize,
    /// The clock time triggers are scheduled on (the system clock unless a test injects one).
    pub clock: Arc<dyn crate::clock::Clock>,
    /// Most missed fire times per time trigger that are back-filled after the engine was down
    /// (the most recent ones; see `triggers::time`).
    pub time_trigger_catch_up: usize,
    /// Ownership groups runs hash into (see `cluster`). Fixed for the life of a database: it
    /// decides which group every stored run belongs to.
    pub groups: i64,
    /// Cluster mode (`None`: this engine owns every group and runs everything in its store).
    pub cluster: Option<crate::cluster::ClusterConfig>,
}

impl EngineConfig {
    /// Production SEL limits and the built-in runtimes, keeping files under `work_dir`.
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        EngineConfig {
            work_dir: work_dir.into(),
            sel_limits: baton_sel::Limits::default(),
            runtimes: RuntimeRegistry::with_builtins(),
            max_steps: baton_model::validate::STEP_LIST_SIZE_LIMIT,
            max_request_bytes: baton_model::validate::WORKFLOW_CREATE_REQUEST_SIZE_LIMIT,
            clock: Arc::new(crate::clock::SystemClock),
            time_trigger_catch_up: 100,
            groups: crate::cluster::DEFAULT_GROUPS,
            cluster: None,
        }
    }
}

/// Something that changed, published after it became durable. Watchers (`baton run`'s progress
/// display, `baton watch`, tests) subscribe with [`Engine::subscribe`]; a slow watcher loses
/// events rather than slowing the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    /// A run changed status.
    Run {
        run: RunKey,
        status: WorkflowInstanceStatus,
    },
    /// A step attempt changed status.
    Step {
        run: RunKey,
        step_id: String,
        attempt_id: i64,
        status: StepInstanceStatus,
    },
}

/// The engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

pub(crate) struct EngineInner {
    pub store: Arc<dyn Store>,
    pub config: EngineConfig,
    pub runs: Mutex<HashMap<RunKey, mpsc::UnboundedSender<RunMsg>>>,
    pub queues: Queues,
    pub events: broadcast::Sender<EngineEvent>,
    pub services: Arc<dyn EvalServices>,
    pub compiled: crate::compiled::Cache,
    /// Who waits for which signal names.
    pub signals: crate::signals::hub::Hub,
    /// Time-trigger scheduler and signal-trigger actors.
    pub triggers: crate::triggers::Triggers,
    pub permits: crate::permits::Permits,
    /// Step breakpoints, mirrored from the store.
    pub breakpoints: crate::breakpoints::BreakpointCache,
    /// Which ownership groups this engine acts for.
    pub ownership: crate::cluster::Ownership,
}

impl Engine {
    /// Starts an engine on `store` and resumes every run that was not finished when the last
    /// engine on this store stopped.
    pub async fn start(store: Arc<dyn Store>, config: EngineConfig) -> Result<Engine> {
        let (events, _) = broadcast::channel(4096);
        let ownership = crate::cluster::Ownership::new(config.groups, config.cluster.clone());
        let services: Arc<dyn EvalServices> = Arc::new(crate::services::StoreServices::new(
            store.clone(),
            tokio::runtime::Handle::current(),
        ));
        let engine = Engine {
            inner: Arc::new(EngineInner {
                store,
                config,
                runs: Mutex::new(HashMap::new()),
                queues: Queues::default(),
                events,
                services,
                compiled: crate::compiled::Cache::default(),
                signals: crate::signals::hub::Hub::default(),
                triggers: crate::triggers::Triggers::default(),
                permits: crate::permits::Permits::default(),
                breakpoints: crate::breakpoints::BreakpointCache::default(),
                ownership,
            }),
        };
        engine.load_breakpoints().await?;
        if engine.inner.ownership.is_cluster() {
            // Runs, queues and triggers start per group, as groups are claimed.
            crate::recovery::load_permit_limits(&engine).await?;
            crate::triggers::start_scheduler(&engine);
            crate::cluster::notice::start(&engine).await?;
            crate::cluster::membership::start(&engine).await?;
        } else {
            crate::recovery::resume_all(&engine).await?;
            crate::triggers::start(&engine).await?;
        }
        Ok(engine)
    }

    /// The store the engine runs on.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Subscribes to status changes.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    /// How many run actors are live in this process.
    pub fn live_runs(&self) -> usize {
        self.inner.runs.lock().map(|r| r.len()).unwrap_or(0)
    }

    /// Asks every live run to stop at its next turn boundary without changing its status, and
    /// waits (up to `grace`) for them to go. Their runs resume when an engine starts again on the
    /// same store.
    pub async fn shutdown(&self, grace: std::time::Duration) {
        if self.inner.ownership.is_cluster() {
            // Park every group and release them, so other nodes take over at once.
            crate::cluster::membership::leave(self).await;
        }
        self.inner.triggers.stop();
        let senders: Vec<_> = match self.inner.runs.lock() {
            Ok(runs) => runs.values().cloned().collect(),
            Err(_) => Vec::new(),
        };
        for tx in senders {
            let _ = tx.send(RunMsg::Shutdown);
        }
        let deadline = tokio::time::Instant::now() + grace;
        while self.live_runs() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    pub(crate) fn publish(&self, event: EngineEvent) {
        let _ = self.inner.events.send(event);
    }

    /// The ownership group of a workflow's root runs.
    pub fn group_of_workflow(&self, workflow_id: &str) -> i64 {
        self.inner.ownership.group_of_workflow(workflow_id)
    }

    /// Whether this engine runs in cluster mode.
    pub fn is_clustered(&self) -> bool {
        self.inner.ownership.is_cluster()
    }

    /// What this node holds (every group, outside a cluster).
    pub fn cluster_status(&self) -> ClusterStatus {
        let own = &self.inner.ownership;
        ClusterStatus {
            clustered: own.is_cluster(),
            node_id: own.cluster.as_ref().map(|c| c.node_id.clone()),
            groups: own.groups,
            held: own.held_groups(),
            live_runs: self.live_runs(),
        }
    }

    /// Every group with its owner, from the store (cluster mode).
    pub async fn cluster_groups(&self) -> Result<Vec<GroupOwner>> {
        Ok(self
            .inner
            .store
            .list_groups()
            .await?
            .into_iter()
            .map(|g| GroupOwner {
                group_id: g.group_id,
                generation: g.generation,
                owner_node: g.owner_node,
                owner_address: g.owner_address,
                owner_live: g.owner_live,
            })
            .collect())
    }

    /// `Ok` when this engine may serve a request for `group`; otherwise
    /// [`EngineError::NotOwner`] with the live owner's address, if any.
    pub async fn require_owner(&self, group: i64) -> Result<()> {
        if self.inner.ownership.owns(group) {
            return Ok(());
        }
        let owner = self
            .inner
            .store
            .list_groups()
            .await?
            .into_iter()
            .find(|g| g.group_id == group && g.owner_live)
            .and_then(|g| g.owner_address);
        Err(EngineError::NotOwner { group, owner })
    }

    /// [`Engine::require_owner`] for a stored run (its row names its group).
    pub(crate) async fn require_run_owner(&self, run: &RunKey) -> Result<()> {
        if !self.inner.ownership.is_cluster() {
            return Ok(());
        }
        let row = self
            .inner
            .store
            .get_instance_run(&run.workflow_id, run.instance_id, Some(run.run_id))
            .await?;
        match row {
            Some(row) => self.require_owner(row.group_id).await,
            None => Ok(()),
        }
    }
}
