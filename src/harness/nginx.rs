//! A real RTMP receiver for tests: nginx (Debian package) with Debian's RTMP module
//! (`libnginx-mod-rtmp`), on loopback, recording every stream published to `live/KEY` as
//! `records/KEY.flv`, so tests can check what a live stream delivered. It can be stopped and
//! started again on the same configuration to test a stream endpoint that goes away.
//!
//! nginx runs with `master_process off`: as root, a master would drop its worker to `nobody`,
//! which could not write the records. The recorder writes every tag straight to the file (no
//! buffering) and adds nothing on close, so a record is a valid FLV up to its last tag at any
//! time, also after nginx was killed; a new publish of the same key truncates it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::HarnessError;
use crate::recorder::process::Supervised;

const NGINX: &str = "/usr/sbin/nginx";
const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// A running nginx-rtmp, accepting publishers on `rtmp://127.0.0.1:PORT/live/KEY`.
pub struct Nginx {
    process: Option<Supervised>,
    /// Its prefix: configuration, pid file, error log and `records/`.
    dir: PathBuf,
    config: PathBuf,
    instance: String,
    pub port: u16,
}

impl Nginx {
    /// Writes a configuration under `dir` (on a free port) and starts nginx; returns once the
    /// RTMP port accepts connections.
    pub async fn start(dir: &Path, instance: &str) -> Result<Self, HarnessError> {
        std::fs::create_dir_all(dir.join("records"))?;
        // nginx resolves relative paths against its prefix: give it absolute ones.
        let dir = std::fs::canonicalize(dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let config = dir.join("nginx.conf");
        std::fs::write(&config, config_text(&dir, port))?;
        let mut nginx = Self { process: None, dir, config, instance: instance.to_owned(), port };
        nginx.launch().await?;
        Ok(nginx)
    }

    async fn launch(&mut self) -> Result<(), HarnessError> {
        let prefix = format!("{}/", self.dir.display());
        let config = self.config.display().to_string();
        let args = ["-c", config.as_str(), "-p", prefix.as_str()];
        let mut process = Supervised::spawn("nginx", Path::new(NGINX), args, &[], &self.instance)?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = process.try_exited() {
                let log = tail(&self.dir.join("error.log"));
                let log = if log.is_empty() { process.tail() } else { log };
                return Err(HarnessError::Nginx(format!("exited ({status}): {log}")));
            }
            // The pid file comes after the bind: a port someone else took cannot fool the check.
            let pid = std::fs::read_to_string(self.dir.join("nginx.pid")).unwrap_or_default();
            let ours = pid.trim() == process.pid().to_string();
            if ours && tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                self.process = Some(process);
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(HarnessError::Nginx(format!("RTMP port {} not up within 10 s", self.port)));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `rtmp://127.0.0.1:PORT/live/{key}`: where a publisher sends stream `key`.
    pub fn url(&self, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{key}", self.port)
    }

    /// The FLV file nginx records for stream `key`. It appears when a publisher starts
    /// publishing and grows tag by tag; nothing is rewritten when the publisher leaves.
    pub fn recorded(&self, key: &str) -> PathBuf {
        self.dir.join("records").join(format!("{key}.flv"))
    }

    /// Stops nginx (SIGQUIT; publishers see their connection drop), records stay.
    pub async fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            if process.try_exited().is_none() {
                // SAFETY: plain syscall on our own child (not yet reaped, so the pid is still ours).
                unsafe {
                    libc::kill(process.pid(), libc::SIGQUIT);
                }
                let _ = tokio::time::timeout(Duration::from_secs(3), process.exited()).await;
            }
            process.terminate(Duration::from_secs(2)).await;
        }
    }

    /// Starts nginx again on the same configuration and port.
    pub async fn restart(&mut self) -> Result<(), HarnessError> {
        self.kill().await;
        self.launch().await
    }

    /// Stops nginx for good.
    pub async fn stop(mut self) {
        self.kill().await;
    }
}

/// The whole configuration: one process, everything under `dir` (the RTMP access log would
/// otherwise go to /var/log/nginx), one recording application.
fn config_text(dir: &Path, port: u16) -> String {
    let dir = dir.display();
    format!(
        "daemon off;\nmaster_process off;\npid \"{dir}/nginx.pid\";\nerror_log \"{dir}/error.log\" info;\n\
         load_module \"{RTMP_MODULE}\";\nevents {{}}\n\
         rtmp {{\n  access_log \"{dir}/access.log\";\n  server {{\n    listen 127.0.0.1:{port};\n    application live {{\n      live on;\n      \
         record all;\n      record_path \"{dir}/records\";\n      record_unique off;\n      record_suffix .flv;\n    \
         }}\n  }}\n}}\n"
    )
}

/// The last lines of nginx's error log (empty if it has none).
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::process::Command;

    /// Publishes `secs` of 640x360 H.264 + AAC test signal as stream `key`.
    async fn publish(url: &str, secs: u32) -> bool {
        let args = format!(
            "-hide_banner -loglevel error -re -f lavfi -i testsrc=size=640x360:rate=30 -f lavfi -i sine=f=440 \
             -t {secs} -c:v libx264 -preset ultrafast -g 60 -c:a aac -f flv {url}"
        );
        Command::new("ffmpeg").args(args.split(' ')).status().await.is_ok_and(|s| s.success())
    }

    /// `codec,width,height` of each stream of `file`, as ffprobe reports them.
    async fn probe(file: &Path) -> String {
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0"])
            .arg(file)
            .output()
            .await
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Needs nginx, libnginx-mod-rtmp and ffmpeg: `cargo test --lib nginx -- --ignored`.
    #[tokio::test]
    #[ignore]
    async fn records_what_is_published_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let instance = format!("nginx-test-{}", uuid::Uuid::new_v4().simple());
        let mut nginx = Nginx::start(dir.path(), &instance).await.unwrap();
        assert!(publish(&nginx.url("test"), 4).await);
        let streams = probe(&nginx.recorded("test")).await;
        assert!(streams.contains("h264,640,360") && streams.contains("aac"), "{streams}");

        nginx.kill().await;
        assert!(!publish(&nginx.url("gone"), 1).await, "published to a stopped nginx");
        nginx.restart().await.unwrap();
        assert!(publish(&nginx.url("again"), 1).await);
        assert!(probe(&nginx.recorded("again")).await.contains("h264,640,360"));

        nginx.stop().await;
        let left = crate::recorder::process::instance_processes(&instance);
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
