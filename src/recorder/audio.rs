//! Audio capture plumbing: one PulseAudio daemon per service (its own socket and runtime dir) and one
//! null sink per recording. Chromium plays into the sink (`PULSE_SINK`); ffmpeg records its monitor.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::RecorderError;
use super::process::{Supervised, prepare};

/// The service's PulseAudio daemon.
pub struct PulseServer {
    /// `None` once stopped. A std Mutex: taken briefly, never across an await.
    process: std::sync::Mutex<Option<Supervised>>,
    /// Counts daemon starts: a sink made under an earlier one is gone.
    generation: std::sync::atomic::AtomicU64,
    /// One relaunch at a time when several recordings find the daemon gone.
    reviving: tokio::sync::Mutex<()>,
    program: PathBuf,
    dir: PathBuf,
    socket: PathBuf,
    pactl: PathBuf,
    instance: String,
}

impl PulseServer {
    /// Starts a daemon whose runtime files live under `dir`, listening on `socket` (where the
    /// browsers' user can reach it), and waits until it answers.
    pub async fn start(pulseaudio: &Path, pactl: &Path, dir: &Path, socket: PathBuf, instance: &str) -> Result<Self, RecorderError> {
        std::fs::create_dir_all(dir)?;
        let process = Self::spawn(pulseaudio, dir, &socket, pactl, instance).await?;
        Ok(Self {
            process: std::sync::Mutex::new(Some(process)),
            generation: std::sync::atomic::AtomicU64::new(1),
            reviving: tokio::sync::Mutex::new(()),
            program: pulseaudio.to_path_buf(),
            dir: dir.to_path_buf(),
            socket,
            pactl: pactl.to_path_buf(),
            instance: instance.to_owned(),
        })
    }

    async fn spawn(pulseaudio: &Path, dir: &Path, socket: &Path, pactl: &Path, instance: &str) -> Result<Supervised, RecorderError> {
        // A dead daemon leaves its socket behind; the new one must not find it.
        let _ = std::fs::remove_file(socket);
        let native = format!("module-native-protocol-unix socket={} auth-anonymous=1", socket.display());
        let args = [
            "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit", "--use-pid-file=no",
            "--disable-shm=yes", "-L", &native, "-L", "module-always-sink",
        ];
        let envs = [("XDG_RUNTIME_DIR", dir.as_os_str()), ("HOME", dir.as_os_str())];
        let process = Supervised::spawn("pulseaudio", pulseaudio, args, &envs, instance)
            .map_err(|e| RecorderError::Audio(format!("cannot run pulseaudio: {e}")))?;
        let mut process = Some(process);
        Self::wait_ready(&mut process, socket, pactl, instance).await?;
        process.ok_or_else(|| RecorderError::Audio("pulseaudio vanished".into()))
    }

    /// Makes sure the daemon runs, starting it again if it died; returns its generation (a
    /// sink of another generation is gone). After [`Self::stop`] nothing is started.
    pub async fn revive(&self) -> Result<u64, RecorderError> {
        let _one = self.reviving.lock().await;
        if self.exited().is_some() {
            tracing::warn!("the PulseAudio daemon died; starting it again");
            let process = Self::spawn(&self.program, &self.dir, &self.socket, &self.pactl, &self.instance).await?;
            *self.process.lock().unwrap_or_else(|e| e.into_inner()) = Some(process);
            self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(self.generation())
    }

    /// The daemon's exit status, if it died (a stopped one is not dead).
    pub fn exited(&self) -> Option<std::process::ExitStatus> {
        let mut process = self.process.lock().unwrap_or_else(|e| e.into_inner());
        process.as_mut().and_then(Supervised::try_exited)
    }

    /// Counts daemon starts: a sink made under an earlier one is gone.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn wait_ready(process: &mut Option<Supervised>, socket: &Path, pactl: &Path, instance: &str) -> Result<(), RecorderError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let server: OsString = format!("unix:{}", socket.display()).into();
        let probe = Pactl { program: pactl.to_path_buf(), server, instance: instance.to_owned() };
        loop {
            if let Some(p) = process.as_mut() && let Some(status) = p.try_exited() {
                return Err(RecorderError::Audio(format!("pulseaudio exited ({status}): {}", p.tail())));
            }
            if socket.exists() && probe.run(&["info"]).await.is_ok() {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(RecorderError::Audio("pulseaudio did not answer within 10 s".into()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `PULSE_SERVER` value for clients.
    pub fn server_env(&self) -> OsString {
        format!("unix:{}", self.socket.display()).into()
    }

    /// Creates a 48 kHz stereo null sink named `name`.
    pub async fn create_sink(&self, name: &str) -> Result<Sink, RecorderError> {
        let sink_name = format!("sink_name={name}");
        let args = ["load-module", "module-null-sink", &sink_name, "rate=48000", "channels=2"];
        let out = self.pactl(&args).await.map_err(RecorderError::Audio)?;
        let module = out.trim().parse::<u32>()
            .map_err(|_| RecorderError::Audio(format!("unexpected pactl answer: {out:?}")))?;
        Ok(Sink { name: name.to_owned(), module: Some(module), pactl: self.pactl_command_base(), generation: self.generation() })
    }

    async fn pactl(&self, args: &[&str]) -> Result<String, String> {
        self.pactl_command_base().run(args).await
    }

    fn pactl_command_base(&self) -> Pactl {
        Pactl { program: self.pactl.clone(), server: self.server_env(), instance: self.instance.clone() }
    }

    /// Stops the daemon (once every recording is over).
    pub async fn stop(&self) {
        let process = self.process.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(process) = process {
            process.terminate(Duration::from_secs(2)).await;
        }
    }
}

/// How to run `pactl` against our daemon.
#[derive(Clone)]
struct Pactl {
    program: PathBuf,
    server: OsString,
    instance: String,
}

impl Pactl {
    fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.program);
        cmd.env("PULSE_SERVER", &self.server);
        prepare(&mut cmd, &self.instance);
        cmd
    }

    async fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = self.command();
        cmd.args(args);
        let out = tokio::process::Command::from(cmd).output().await.map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!("pactl {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
        }
    }
}

/// A per-recording null sink; unloaded by [`Sink::remove`] or, failing that, on drop.
pub struct Sink {
    pub name: String,
    /// The null-sink module index; `None` once unloaded.
    module: Option<u32>,
    pactl: Pactl,
    /// The daemon generation it was made under.
    pub generation: u64,
}

impl Sink {
    /// The source ffmpeg records from.
    pub fn monitor(&self) -> String {
        format!("{}.monitor", self.name)
    }

    /// Forgets a sink whose daemon died: its module number may belong to a sink of the new one.
    pub fn forget(mut self) {
        self.module = None;
    }

    /// Unloads the sink.
    pub async fn remove(mut self) {
        let Some(module) = self.module.take() else { return };
        let mut cmd = self.pactl.command();
        cmd.args(["unload-module", &module.to_string()]);
        if let Err(e) = tokio::process::Command::from(cmd).output().await {
            tracing::warn!(sink = %self.name, "cannot unload sink: {e}");
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        // Error paths that skipped `remove`: unload synchronously (pactl answers in milliseconds).
        if let Some(module) = self.module.take() {
            let _ = self.pactl.command().args(["unload-module", &module.to_string()]).output();
        }
    }
}
