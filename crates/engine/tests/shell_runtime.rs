//! The Shell runtime driven through the `StepRuntime` trait, as the instance actor drives it,
//! with hand-built step contexts and temporary work dirs.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_engine::params::Params;
use baton_engine::runtime::shell::{
    LAUNCH_RECORD_FILE, LaunchRecord, ReapOutcome, SHELL_ARTIFACT_KEY, read_log,
};
use baton_engine::runtime::{RuntimeResult, ShellRuntime, StepContext, StepRuntime};
use baton_model::definition::StepType;
use baton_model::instance::{Artifact, RuntimeState, TimelineEvent};
use baton_model::params::{EvaluatedValue, Parameter};
use indexmap::IndexMap;
use serde_json::{Value, json};

const GRACE: Duration = Duration::from_millis(300);

fn runtime() -> ShellRuntime {
    ShellRuntime::with_grace_period(GRACE)
}

fn ctx_with(dir: &Path, params: Params) -> StepContext {
    StepContext {
        workflow_id: "sample-wf".into(),
        workflow_instance_id: 7,
        workflow_run_id: 2,
        step_id: "job1".into(),
        step_attempt_id: 3,
        step_instance_id: 11,
        step_uuid: uuid::Uuid::new_v4().to_string(),
        step_type: StepType::Shell,
        params: Arc::new(params),
        workflow_params: Arc::new(IndexMap::new()),
        artifacts: IndexMap::new(),
        start_time: 0,
        work_dir: dir.join("job1").join("attempt-3"),
    }
}

/// A context whose `shell` param evaluated to `shell`, plus a mutable `foo` param.
fn ctx(dir: &Path, shell: Value) -> StepContext {
    let shell: Parameter = serde_json::from_value(
        json!({"type": "MAP", "value": {}, "evaluated_result": shell, "evaluated_time": 1}),
    )
    .unwrap();
    let output_param: Parameter =
        serde_json::from_value(json!({"type": "STRING", "value": "default",
        "evaluated_result": "default", "evaluated_time": 1}))
        .unwrap();
    ctx_with(
        dir,
        [
            ("shell".to_string(), shell),
            ("foo".to_string(), output_param),
        ]
        .into_iter()
        .collect(),
    )
}

/// Runs start then execute; returns both results.
async fn run(rt: &ShellRuntime, ctx: &mut StepContext) -> (RuntimeResult, RuntimeResult) {
    let started = rt.start(ctx).await;
    ctx.artifacts.extend(started.artifacts.clone());
    let done = rt.execute(ctx).await;
    (started, done)
}

fn shell_fields(r: &RuntimeResult) -> &IndexMap<String, Value> {
    match r.artifacts.get(SHELL_ARTIFACT_KEY) {
        Some(Artifact::Default(m)) => m,
        other => panic!("no maestro_shell artifact: {other:?}"),
    }
}

fn messages(r: &RuntimeResult) -> String {
    r.timeline
        .iter()
        .map(|e| match e {
            TimelineEvent::Log(l) => l.message.clone().unwrap_or_default(),
            TimelineEvent::Details(d) => format!(
                "{} {}",
                d.message.clone().unwrap_or_default(),
                d.errors.clone().unwrap_or_default().join("\n")
            ),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `-c` script and its `$1` of a Kubernetes sample, `$$`-unescaped as the params module
/// hands literal strings over.
fn kubernetes_sample(name: &str) -> (String, Vec<String>) {
    let path = format!(
        "{}/../../../shared/compat/maestro-samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let def: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let steps = def["workflow"]["steps"].as_array().unwrap();
    let job = steps
        .iter()
        .find(|s| s["step"]["type"] == "kubernetes")
        .unwrap();
    let args: Vec<String> = job["step"]["params"]["kubernetes"]["value"]["args"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().replace("$$", "$"))
        .collect();
    assert_eq!(args[0], "-c");
    assert_eq!(args[2], "sh", "$0 of sh -c");
    (args[1].clone(), args[3..].to_vec())
}

fn pid_of(r: &RuntimeResult) -> i32 {
    shell_fields(r)["pid"].as_i64().unwrap() as i32
}

/// Alive and not a zombie.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s[s.rfind(')').unwrap() + 2..].chars().next().unwrap();
            state != 'Z' && state != 'X'
        }
        Err(_) => false,
    }
}

async fn wait_dead(pid: i32) -> bool {
    for _ in 0..100 {
        if !alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Reads the pid of a background `sleep` a script wrote to a file in its work dir, waiting for
/// it to appear and for the forked shell to have become `sleep`.
async fn pid_file(ctx: &StepContext, name: &str) -> i32 {
    let path = ctx.work_dir.join(name);
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(pid) = text.trim().parse::<i32>()
            && std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c == "sleep\n")
        {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{} never written", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_output_sample_runs_as_a_shell_script() {
    let dir = tempfile::tempdir().unwrap();
    let (script, args) = kubernetes_sample("sample-kubernetes-output-wf.json");
    let mut c = ctx(
        dir.path(),
        json!({"script": script, "interpreter": "sh", "args": args}),
    );
    let rt = runtime();
    let (started, done) = run(&rt, &mut c).await;
    assert_eq!(
        started.state,
        RuntimeState::Continue,
        "{}",
        messages(&started)
    );
    let launch = shell_fields(&started);
    assert_eq!(launch["interpreter"], "sh");
    assert_eq!(launch["pgid"], launch["pid"], "own process group");
    assert!(launch["log_path"].as_str().unwrap().ends_with("output.log"));
    assert_eq!(launch["command"][0], "sh");

    assert_eq!(done.state, RuntimeState::Done, "{}", messages(&done));
    let out = done.output.as_ref().expect("output data");
    assert_eq!(
        out.params["foo"].evaluated_result,
        Some(EvaluatedValue::String("bar".into()))
    );
    match &out.artifacts["maestro_dynamic_output"] {
        Artifact::DynamicOutput(d) => assert_eq!(d.signal_outputs.as_ref().unwrap().len(), 1),
        other => panic!("{other:?}"),
    }
    let fields = shell_fields(&done);
    assert_eq!(fields["exit_code"], 0);
    assert!(
        fields["execution_output"]
            .as_str()
            .unwrap()
            .starts_with("hello world\n")
    );
    assert!(
        read_log(&c.work_dir, None)
            .unwrap()
            .contains("MAESTRO_OUTPUT_START_TOKEN{")
    );
    assert_eq!(rt.tracked(), 0, "collected");
}

#[tokio::test]
async fn kubernetes_env_sample_sees_its_env() {
    let dir = tempfile::tempdir().unwrap();
    let (script, args) = kubernetes_sample("sample-kubernetes-env-wf.json");
    // `${errorRetries}` is interpolated by the params module before the runtime sees it.
    let mut c = ctx(
        dir.path(),
        json!({"script": script, "interpreter": "sh", "args": args, "env": {"error_retries": "0"}}),
    );
    let (_, done) = run(&runtime(), &mut c).await;
    assert_eq!(done.state, RuntimeState::Done, "{}", messages(&done));
    assert!(
        read_log(&c.work_dir, None)
            .unwrap()
            .starts_with("error retries: 0\n")
    );
    assert!(done.output.unwrap().params.contains_key("foo"));
}

#[tokio::test]
async fn nonretryable_sample_passes_maestro_retry_to_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let (script, args) = kubernetes_sample("sample-kubernetes-nonretryable-wf.json");
    let script = script.replace("sleep 5", "sleep 0.1");
    let mut c = ctx(
        dir.path(),
        json!({"script": script, "interpreter": "sh", "args": args}),
    );
    let (_, done) = run(&runtime(), &mut c).await;
    assert_eq!(done.state, RuntimeState::UserError);
    match done.artifacts.get("maestro_retry") {
        Some(Artifact::Retry(r)) => assert!(!r.retryable),
        other => panic!("maestro_retry missing: {other:?}"),
    }
    assert_eq!(shell_fields(&done)["exit_code"], 1);
}

#[tokio::test]
async fn last_token_pair_wins() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
block() { printf '%s{"params":{"foo":{"value":"%s","type":"STRING","evaluated_result":"%s","evaluated_time":1}}}%s\n' "$MAESTRO_OUTPUT_START" "$1" "$1" "$MAESTRO_OUTPUT_END"; }
block first
echo between
block second
echo after
"#;
    let mut c = ctx(dir.path(), json!({"script": script}));
    let (_, done) = run(&runtime(), &mut c).await;
    assert_eq!(done.state, RuntimeState::Done, "{}", messages(&done));
    assert_eq!(
        done.output.unwrap().params["foo"].evaluated_result,
        Some(EvaluatedValue::String("second".into()))
    );
}

#[tokio::test]
async fn malformed_output_is_a_user_error() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"echo "${MAESTRO_OUTPUT_START}{\"params\": nope}${MAESTRO_OUTPUT_END}""#;
    let mut c = ctx(dir.path(), json!({"script": script}));
    let (_, done) = run(&runtime(), &mut c).await;
    assert_eq!(done.state, RuntimeState::UserError);
    assert!(
        messages(&done).contains("Error processing the output data"),
        "{}",
        messages(&done)
    );
    assert!(done.output.is_none());
}

#[tokio::test]
async fn nonzero_exit_is_a_user_error_with_code_and_log_tail() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ctx(
        dir.path(),
        json!({"script": "echo working\necho 'it broke' >&2\nexit 3\n"}),
    );
    let (_, done) = run(&runtime(), &mut c).await;
    assert_eq!(done.state, RuntimeState::UserError);
    let text = messages(&done);
    assert!(text.contains("exited with code 3"), "{text}");
    assert!(
        text.contains("it broke"),
        "log tail in the timeline: {text}"
    );
    assert_eq!(shell_fields(&done)["exit_code"], 3);
    assert!(done.output.is_none());
}

#[tokio::test]
async fn killed_by_a_signal_is_a_platform_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ctx(dir.path(), json!({"script": "sleep 30"}));
    let rt = runtime();
    let started = rt.start(&c).await;
    c.artifacts.extend(started.artifacts.clone());
    let pid = pid_of(&started);
    let t = Instant::now();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    let done = rt.execute(&c).await;
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(done.state, RuntimeState::PlatformError);
    assert!(messages(&done).contains("SIGKILL"), "{}", messages(&done));
    assert_eq!(shell_fields(&done)["signal"], "SIGKILL (9)");
}

// The engine runs on the multi-threaded runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_kills_the_script_and_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ctx(
        dir.path(),
        json!({"script": "sleep 60 &\necho $! > bg.pid\nsleep 60\n"}),
    );
    let rt = runtime();
    let started = rt.start(&c).await;
    c.artifacts.extend(started.artifacts.clone());
    let pid = pid_of(&started);
    let bg = pid_file(&c, "bg.pid").await;
    // The engine drops a pending execute before it terminates.
    let pending = tokio::time::timeout(Duration::from_millis(50), rt.execute(&c)).await;
    assert!(pending.is_err(), "still running");
    assert!(alive(pid) && alive(bg));

    let t = Instant::now();
    let stopped = rt.terminate(&c).await;
    assert!(t.elapsed() < GRACE, "SIGTERM was enough: {:?}", t.elapsed());
    assert_eq!(stopped.state, RuntimeState::Stopped);
    assert!(
        messages(&stopped).contains("SIGTERM"),
        "{}",
        messages(&stopped)
    );
    assert_eq!(shell_fields(&stopped)["signal"], "SIGTERM (15)");
    assert!(wait_dead(pid).await && wait_dead(bg).await, "group gone");
    assert_eq!(rt.tracked(), 0);

    let again = rt.terminate(&c).await;
    assert_eq!(again.state, RuntimeState::Stopped, "idempotent");
}

#[tokio::test]
async fn terminate_escalates_to_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ctx(
        dir.path(),
        json!({"script": "trap '' TERM\nsleep 60 &\necho $! > bg.pid\nsleep 60\n"}),
    );
    let rt = runtime();
    let started = rt.start(&c).await;
    c.artifacts.extend(started.artifacts.clone());
    let bg = pid_file(&c, "bg.pid").await;
    let t = Instant::now();
    let stopped = rt.terminate(&c).await;
    assert!(t.elapsed() >= GRACE && t.elapsed() < GRACE * 4);
    assert_eq!(stopped.state, RuntimeState::Stopped);
    assert!(
        messages(&stopped).contains("SIGKILL"),
        "{}",
        messages(&stopped)
    );
    assert!(wait_dead(pid_of(&started)).await && wait_dead(bg).await);
}

#[tokio::test]
async fn background_processes_die_with_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ctx(
        dir.path(),
        json!({"script": "sleep 60 &\necho $! > bg.pid\n"}),
    );
    let (_, done) = run(&runtime(), &mut c).await;
    assert_eq!(done.state, RuntimeState::Done, "{}", messages(&done));
    let bg: i32 = std::fs::read_to_string(c.work_dir.join("bg.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(wait_dead(bg).await, "a leftover of the group is killed");
}

#[tokio::test]
async fn env_and_identity_are_visible_to_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
echo "GREETING=$GREETING"
echo "NUMBER=$NUMBER"
echo "ids=$MAESTRO_WORKFLOW_ID/$MAESTRO_INSTANCE_ID/$MAESTRO_RUN_ID/$MAESTRO_STEP_ID/$MAESTRO_STEP_INSTANCE_ID/$MAESTRO_STEP_ATTEMPT_ID"
echo "uuid=$MAESTRO_STEP_UUID"
[ "$MAESTRO_OUTPUT_START" = MAESTRO_OUTPUT_START_TOKEN ] && echo start-token-ok
[ "$MAESTRO_OUTPUT_END" = MAESTRO_OUTPUT_END_TOKEN ] && echo end-token-ok
[ -n "$PATH" ] && echo engine-env-ok
echo "pwd=$(pwd)"
read line || echo stdin-empty
"#;
    let mut c = ctx(
        dir.path(),
        json!({"script": script, "env": {"GREETING": "hello there", "NUMBER": 42,
                "MAESTRO_STEP_ID": "spoofed"}}),
    );
    let (_, done) = run(&runtime(), &mut c).await;
    assert_eq!(done.state, RuntimeState::Done, "{}", messages(&done));
    let log = read_log(&c.work_dir, None).unwrap();
    let work_dir = std::fs::canonicalize(&c.work_dir).unwrap();
    let want = format!(
        "GREETING=hello there\nNUMBER=42\nids=sample-wf/7/2/job1/11/3\nuuid={}\nstart-token-ok\nend-token-ok\nengine-env-ok\npwd={}\nstdin-empty\n",
        c.step_uuid,
        work_dir.display()
    );
    assert_eq!(log, want);
}

#[tokio::test]
async fn python3_interpreter() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import json, os, sys
print("from python", sys.argv[1:])
out = {"params": {"foo": {"value": "py", "type": "STRING", "evaluated_result": "py", "evaluated_time": 1}}}
print(os.environ["MAESTRO_OUTPUT_START"] + json.dumps(out) + os.environ["MAESTRO_OUTPUT_END"])
"#;
    let mut c = ctx(
        dir.path(),
        json!({"script": script, "interpreter": "python3", "args": ["a b"]}),
    );
    let (_, done) = run(&runtime(), &mut c).await;
    assert_eq!(done.state, RuntimeState::Done, "{}", messages(&done));
    assert!(
        read_log(&c.work_dir, None)
            .unwrap()
            .starts_with("from python ['a b']\n")
    );
    assert_eq!(
        done.output.unwrap().params["foo"].evaluated_result,
        Some(EvaluatedValue::String("py".into()))
    );
}

#[tokio::test]
async fn sh_and_interpreter_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ctx(
        dir.path(),
        json!({"script": "echo \"$0 $1\"", "interpreter": "sh", "args": ["x"]}),
    );
    let (started, done) = run(&runtime(), &mut c).await;
    assert_eq!(done.state, RuntimeState::Done, "{}", messages(&done));
    let script_path = shell_fields(&started)["script_path"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        read_log(&c.work_dir, None).unwrap(),
        format!("{script_path} x\n")
    );

    // `bash -eu`: the interpreter's own flags apply (-u makes the unset variable fatal).
    let mut c = ctx(
        dir.path(),
        json!({"script": "echo \"$NOT_SET_ANYWHERE\"\necho unreachable", "interpreter": "bash -eu"}),
    );
    let (_, done) = run(&runtime(), &mut c).await;
    assert_eq!(done.state, RuntimeState::UserError);
    assert!(!read_log(&c.work_dir, None).unwrap().contains("unreachable"));
}

#[tokio::test]
async fn invalid_params_are_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let c = ctx(dir.path(), json!({"interpreter": "sh"}));
    let r = rt.start(&c).await;
    assert_eq!(r.state, RuntimeState::FatalError);
    assert!(
        messages(&r).contains("[script] is a required entry of the `shell` param"),
        "{}",
        messages(&r)
    );
    assert!(!c.work_dir.exists(), "nothing launched");

    let no_shell = ctx_with(dir.path(), IndexMap::new());
    let r = rt.start(&no_shell).await;
    assert_eq!(r.state, RuntimeState::FatalError);
    assert!(messages(&r).contains("needs a `shell` MAP param"));

    let c = ctx(
        dir.path(),
        json!({"script": "echo", "interpreter": "no-such-interpreter-here"}),
    );
    let r = rt.start(&c).await;
    assert_eq!(r.state, RuntimeState::FatalError);
    assert!(
        messages(&r).contains("interpreter `no-such-interpreter-here` not found"),
        "{}",
        messages(&r)
    );
    assert_eq!(rt.tracked(), 0);
}

#[tokio::test]
async fn log_interleaves_stdout_and_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ctx(
        dir.path(),
        json!({"script": "echo one\necho two >&2\necho three\necho four >&2\n"}),
    );
    let (_, done) = run(&runtime(), &mut c).await;
    assert_eq!(done.state, RuntimeState::Done);
    assert_eq!(
        read_log(&c.work_dir, None).unwrap(),
        "one\ntwo\nthree\nfour\n"
    );
    assert_eq!(read_log(&c.work_dir, Some(5)).unwrap(), "four\n");
    assert_eq!(
        shell_fields(&done)["execution_output"],
        "one\ntwo\nthree\nfour\n"
    );
}

#[tokio::test]
async fn execute_without_start_here_is_a_lost_process() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path(), json!({"script": "true"}));
    let r = runtime().execute(&c).await;
    assert_eq!(r.state, RuntimeState::PlatformError);
    assert!(messages(&r).contains("lost"), "{}", messages(&r));
    let stopped = runtime().terminate(&c).await;
    assert_eq!(stopped.state, RuntimeState::Stopped);
}

#[tokio::test]
async fn start_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ctx(dir.path(), json!({"script": "sleep 0.2"}));
    let rt = runtime();
    let first = rt.start(&c).await;
    let second = rt.start(&c).await;
    assert_eq!(second.state, RuntimeState::Continue);
    assert_eq!(pid_of(&first), pid_of(&second), "not launched twice");
    assert_eq!(rt.tracked(), 1);
    c.artifacts.extend(first.artifacts);
    assert_eq!(rt.execute(&c).await.state, RuntimeState::Done);
}

#[tokio::test]
async fn start_after_a_crash_replaces_the_orphan() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path(), json!({"script": "sleep 60"}));
    // The first engine launched, then died before persisting the artifact.
    let dead_engine = runtime();
    let first = dead_engine.start(&c).await;
    assert!(c.work_dir.join(LAUNCH_RECORD_FILE).exists());
    let rt = runtime();
    let second = rt.start(&c).await;
    assert_eq!(second.state, RuntimeState::Continue);
    assert_ne!(pid_of(&first), pid_of(&second));
    assert!(wait_dead(pid_of(&first)).await, "the orphan was stopped");
    assert!(alive(pid_of(&second)));
    assert_eq!(rt.terminate(&c).await.state, RuntimeState::Stopped);
}

// The engine runs on the multi-threaded runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reap_orphan_stops_a_live_group() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ctx(
        dir.path(),
        json!({"script": "sleep 60 &\necho $! > bg.pid\nsleep 60\n"}),
    );
    let dead_engine = runtime();
    let started = dead_engine.start(&c).await;
    c.artifacts.extend(started.artifacts.clone());
    let bg = pid_file(&c, "bg.pid").await;
    assert_eq!(
        dead_engine.reap_orphan(&c).await,
        ReapOutcome::NotAnOrphan,
        "still watched here"
    );

    let recovering = runtime();
    let t = Instant::now();
    match recovering.reap_orphan(&c).await {
        ReapOutcome::Stopped { pids, forced } => {
            assert!(
                pids.contains(&pid_of(&started)) && pids.contains(&bg),
                "{pids:?}"
            );
            assert!(!forced);
        }
        other => panic!("{other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(wait_dead(pid_of(&started)).await && wait_dead(bg).await);
    assert_eq!(
        recovering.reap_orphan(&c).await,
        ReapOutcome::NotRunning,
        "twice is harmless"
    );
    // The lost attempt, seen by its own (dead) engine: killed by a signal.
    assert_eq!(
        dead_engine.execute(&c).await.state,
        RuntimeState::PlatformError
    );
}

#[tokio::test]
async fn reap_orphan_finds_children_of_an_unverified_leader_by_their_marker() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ctx(
        dir.path(),
        json!({"script": "sleep 60 &\npid=$!\necho $pid > bg.pid\nwait $pid\n"}),
    );
    let dead_engine = runtime();
    let started = dead_engine.start(&c).await;
    c.artifacts.extend(started.artifacts.clone());
    let bg = pid_file(&c, "bg.pid").await;
    // Record a leader start time that does not match: the leader no longer counts as ours, but
    // the child in the recorded group that carries the attempt's uuid still does.
    let mut rec = LaunchRecord::from_artifacts(&c.artifacts).unwrap();
    rec.process_start_ticks = rec.process_start_ticks.map(|t| t + 1);
    c.artifacts.insert(
        SHELL_ARTIFACT_KEY.into(),
        Artifact::Default(rec.to_fields()),
    );
    match runtime().reap_orphan(&c).await {
        ReapOutcome::Stopped { pids, .. } => assert_eq!(pids, vec![bg]),
        other => panic!("{other:?}"),
    }
    assert!(wait_dead(bg).await);
    // The leader was not signalled: its `wait` returned and it exited by itself.
    let done = dead_engine.execute(&c).await;
    assert_eq!(done.state, RuntimeState::UserError, "{}", messages(&done));
    assert_eq!(shell_fields(&done)["exit_code"], 128 + 15);
}

#[tokio::test]
async fn reap_orphan_leaves_recycled_and_absent_pids_alone() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path(), json!({"script": "true"}));
    assert_eq!(
        runtime().reap_orphan(&c).await,
        ReapOutcome::NothingRecorded
    );

    // A process that is not the attempt's, sitting on the recorded pid and group.
    use std::os::unix::process::CommandExt;
    let mut stranger = std::process::Command::new("sleep")
        .arg("30")
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = stranger.id() as i32;
    let record = |ticks: Option<u64>, boot: Option<String>| LaunchRecord {
        step_uuid: c.step_uuid.clone(),
        pid,
        pgid: pid,
        process_start_ticks: ticks,
        boot_id: boot,
        interpreter: "bash".into(),
        command: vec!["bash".into()],
        work_dir: String::new(),
        script_path: String::new(),
        log_path: String::new(),
        launch_time: 0,
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let real_ticks: u64 = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap();
    let this_boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .unwrap()
        .trim()
        .to_string();
    for rec in [
        record(Some(real_ticks + 7), Some(this_boot.clone())), // recycled pid
        record(None, Some(this_boot.clone())),                 // unverifiable
        record(Some(real_ticks), Some("another-boot".into())), // before a reboot
    ] {
        let mut c = c.clone();
        c.artifacts.insert(
            SHELL_ARTIFACT_KEY.into(),
            Artifact::Default(rec.to_fields()),
        );
        assert_eq!(runtime().reap_orphan(&c).await, ReapOutcome::NotRunning);
        assert!(alive(pid), "{rec:?} must not be signalled");
    }
    stranger.kill().unwrap();
    stranger.wait().unwrap();

    // The pid is gone now.
    let mut c = c.clone();
    c.artifacts.insert(
        SHELL_ARTIFACT_KEY.into(),
        Artifact::Default(record(Some(real_ticks), Some(this_boot)).to_fields()),
    );
    assert_eq!(runtime().reap_orphan(&c).await, ReapOutcome::NotRunning);
}

#[tokio::test]
async fn dropping_the_runtime_kills_what_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path(), json!({"script": "sleep 60"}));
    let rt = runtime();
    let pid = pid_of(&rt.start(&c).await);
    assert!(alive(pid));
    drop(rt);
    assert!(wait_dead(pid).await);
}
