//! Supervised child processes: every program a recording starts (Xvfb, Chromium, PulseAudio helpers)
//! goes through [`Supervised`], so that each one runs in its own process group, dies with the service,
//! has its stderr in the recording's tracing span, and is killed and reaped on every exit path.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use crate::sandbox::{self, RunAs};

/// Environment variable set on every process Wallflower starts; its value names the service instance,
/// so tests (and operators) can find leftovers of one instance with `/proc/*/environ`.
pub const INSTANCE_ENV: &str = "WALLFLOWER_INSTANCE";

/// How many stderr lines a process keeps for error messages.
const TAIL_LINES: usize = 20;

/// Last lines a child wrote to stdout/stderr, shared with the reader tasks.
#[derive(Clone, Default)]
pub struct OutputTail(Arc<Mutex<VecDeque<String>>>);

impl OutputTail {
    pub fn push(&self, line: String) {
        // A std Mutex: held for a push, never across an await.
        let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The kept lines joined with newlines (empty when the program printed nothing).
    pub fn text(&self) -> String {
        let lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

/// A child process in its own process group, killed (group and all) when dropped.
pub struct Supervised {
    name: &'static str,
    child: Child,
    /// Only for processes started with [`Supervised::spawn_fed`].
    stdin: Option<tokio::process::ChildStdin>,
    pid: i32,
    tail: OutputTail,
    status: Option<ExitStatus>,
}

/// Prepares `cmd` the way every supervised program runs: new process group, killed when the
/// service dies, stdin closed, output piped, marked with the instance id.
pub fn prepare(cmd: &mut std::process::Command, instance: &str) {
    use std::os::unix::process::CommandExt;
    cmd.env(INSTANCE_ENV, instance).process_group(0);
    // SAFETY: prctl and setrlimit are async-signal-safe; the closure allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            // If the service dies (even by SIGKILL), its children must not outlive it. This runs
            // after std switched the uid (browsers run as another user), which clears the setting.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // A crashing child (Janus 1.1.2 sometimes does on SIGTERM) must not leave a
            // 100 MB core file in the working directory.
            let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
            Ok(())
        });
    }
}

impl Supervised {
    /// Starts `program` with `args` and `envs`; `name` labels its log lines and errors.
    pub fn spawn<I, S>(
        name: &'static str,
        program: &std::path::Path,
        args: I,
        envs: &[(&str, &OsStr)],
        instance: &str,
    ) -> std::io::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Self::start(name, command(program, args, envs, instance), false)
    }

    /// Like [`Supervised::spawn`], as the user `run_as` (the browsers, when the service is root).
    pub fn spawn_as<I, S>(
        name: &'static str,
        program: &std::path::Path,
        args: I,
        envs: &[(&str, &OsStr)],
        instance: &str,
        run_as: Option<&RunAs>,
    ) -> std::io::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = command(program, args, envs, instance);
        sandbox::apply(&mut cmd, run_as);
        Self::start(name, cmd, false)
    }

    /// Like [`Supervised::spawn`], with a pipe to the program's stdin ([`Supervised::take_stdin`]).
    pub fn spawn_fed<I, S>(name: &'static str, program: &std::path::Path, args: I, instance: &str) -> std::io::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Self::start(name, command(program, args, &[], instance), true)
    }

    /// The pipe to the program's stdin, once.
    pub fn take_stdin(&mut self) -> Option<tokio::process::ChildStdin> {
        self.stdin.take()
    }

    fn start(name: &'static str, std_cmd: std::process::Command, fed: bool) -> std::io::Result<Self> {
        let mut cmd = Command::from(std_cmd);
        cmd.stdin(if fed { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn()?;
        let pid = child.id().map(|p| p as i32).unwrap_or(-1);
        let tail = OutputTail::default();
        if let Some(out) = child.stdout.take() {
            forward_lines(name, out, tail.clone());
        }
        if let Some(err) = child.stderr.take() {
            forward_lines(name, err, tail.clone());
        }
        tracing::debug!(program = name, pid, "started");
        let stdin = child.stdin.take();
        Ok(Self { name, child, stdin, pid, tail, status: None })
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The last lines the program printed.
    pub fn tail(&self) -> String {
        self.tail.text()
    }

    /// A handle on the program's last lines that outlives borrows of the process.
    pub fn output(&self) -> OutputTail {
        self.tail.clone()
    }

    /// Returns the exit status if the process has already exited (and reaps it).
    pub fn try_exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits until the process exits on its own. Cancellation-safe.
    pub async fn exited(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let status = match self.child.wait().await {
            Ok(status) => status,
            // Only fails if the child was already reaped; treat it as gone.
            Err(_) => std::os::unix::process::ExitStatusExt::from_raw(0),
        };
        self.status = Some(status);
        status
    }

    /// Asks the whole process group to stop (SIGTERM), waits up to `grace`, then kills it.
    pub async fn terminate(mut self, grace: Duration) {
        if self.try_exited().is_none() {
            signal_group(self.pid, libc::SIGTERM);
            if tokio::time::timeout(grace, self.exited()).await.is_err() {
                tracing::warn!(program = self.name, pid = self.pid, "did not stop in time; killing");
            }
        }
        // The leader may be gone while its children (Chromium's renderers) linger: kill the group.
        signal_group(self.pid, libc::SIGKILL);
        self.exited().await;
        tracing::debug!(program = self.name, pid = self.pid, "stopped");
    }
}

/// `program` with `args` and `envs`, prepared like every supervised program.
fn command<I, S>(program: &std::path::Path, args: I, envs: &[(&str, &OsStr)], instance: &str) -> std::process::Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    prepare(&mut cmd, instance);
    cmd
}

impl Drop for Supervised {
    fn drop(&mut self) {
        // Exit paths that never called `terminate` (errors, panics, aborted tasks) land here.
        signal_group(self.pid, libc::SIGKILL);
        if self.try_exited().is_none() {
            let _ = self.child.start_kill();
        }
    }
}

/// Sends `signal` to the process group led by `pid` (groups are only ever ones we created).
pub fn signal_group(pid: i32, signal: i32) {
    if pid > 0 {
        // SAFETY: plain syscall; an already-gone group yields ESRCH, which is fine.
        unsafe {
            libc::kill(-pid, signal);
        }
    }
}

fn forward_lines<R: AsyncRead + Unpin + Send + 'static>(name: &'static str, out: R, tail: OutputTail) {
    let span = tracing::Span::current();
    tokio::spawn(async move {
        let mut lines = BufReader::new(out).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let _enter = span.enter();
            tracing::debug!(program = name, "{line}");
            tail.push(line);
        }
    });
}

/// Kills processes of this instance whose command line mentions `needle` (a recording's temp dir):
/// helpers that left their process group, such as Chromium's crashpad handler, which daemonizes.
pub fn kill_strays(instance: &str, needle: &str) {
    let marker = format!("{INSTANCE_ENV}={instance}");
    let Ok(entries) = std::fs::read_dir("/proc") else { return };
    for pid in entries.flatten().filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok()) {
        let read = |what: &str| std::fs::read(format!("/proc/{pid}/{what}")).unwrap_or_default();
        let has = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        if has(&read("cmdline"), needle.as_bytes()) && has(&read("environ"), marker.as_bytes()) {
            // SAFETY: plain syscall on a process we started (it carries our marker).
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// A process found in `/proc`.
#[derive(Debug, Clone)]
pub struct ProcInfo {
    pub pid: i32,
    pub ppid: i32,
    /// The command name (`comm`), e.g. `chromium`, `ffmpeg`.
    pub name: String,
    /// User plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
}

/// Every live (non-zombie) process of one service instance: those carrying its marker, and the
/// members of their process groups (Chromium's zygote and renderers get a scrubbed environment
/// but stay in the browser's group).
pub fn instance_processes(instance: &str) -> Vec<ProcInfo> {
    let marker = format!("{INSTANCE_ENV}={instance}");
    let all: Vec<(ProcInfo, i32, bool)> = std::fs::read_dir("/proc")
        .map(|dir| dir.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect::<Vec<i32>>())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|pid| read_stat(pid, &marker))
        .collect();
    let groups: std::collections::HashSet<i32> = all.iter().filter(|(_, _, marked)| *marked).map(|(p, _, _)| p.pid).collect();
    all.into_iter()
        .filter(|(_, pgid, marked)| *marked || groups.contains(pgid))
        .map(|(p, _, _)| p)
        .collect()
}

/// Parses `/proc/PID/stat` (and checks the marker); `None` for zombies and vanished processes.
fn read_stat(pid: i32, marker: &str) -> Option<(ProcInfo, i32, bool)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (name, fields) = split_stat(&stat)?;
    if fields.first() == Some(&"Z") {
        return None;
    }
    let num = |i: usize| fields.get(i).and_then(|f| f.parse::<i64>().ok()).unwrap_or(0);
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    let marked = environ.windows(marker.len()).any(|w| w == marker.as_bytes());
    let info = ProcInfo { pid, ppid: num(1) as i32, name: name.to_owned(), cpu_ticks: stat_ticks(&fields) };
    Some((info, num(2) as i32, marked))
}

/// A `stat` line's command name and the fields after it (state first).
fn split_stat(stat: &str) -> Option<(&str, Vec<&str>)> {
    let (head, rest) = stat.rsplit_once(')')?;
    Some((head.split_once('(')?.1, rest.split_whitespace().collect()))
}

/// User plus system CPU ticks of a `stat` line's fields.
fn stat_ticks(fields: &[&str]) -> u64 {
    let num = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    num(11) + num(12)
}

/// Names of the threads that work for a recording inside the service (the picture and sound
/// feeds) begin with this; the benchmark counts their CPU as the recording's.
pub const FEED_THREAD_PREFIX: &str = "wf-";

/// CPU ticks of this process' live feed threads, all recordings' together.
pub fn feed_thread_ticks() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    tasks
        .flatten()
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            let (name, fields) = split_stat(&stat)?;
            name.starts_with(FEED_THREAD_PREFIX).then(|| stat_ticks(&fields))
        })
        .sum()
}
