//! A real S3-compatible store for tests: Garage (built from crates.io by `scripts/setup
//! --test-servers`), single node on loopback, with one bucket and a fixed test key. It can be
//! stopped and started again on the same data to test what uploads do when the store goes away.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::HarnessError;
use crate::recorder::process::Supervised;

/// The fixed test key (Garage's key id form: `GK` and 24 hex digits).
pub const KEY_ID: &str = "GK0123456789abcdef01234567";
pub const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub const REGION: &str = "garage";

/// A running Garage with one bucket.
pub struct Garage {
    process: Option<Supervised>,
    program: PathBuf,
    config: PathBuf,
    instance: String,
    /// `http://127.0.0.1:PORT`, path-style.
    pub endpoint: String,
    pub bucket: String,
}

impl Garage {
    /// Starts Garage with its data under `dir`, creates `bucket` and the test key.
    pub async fn start(dir: &Path, bucket: &str, instance: &str) -> Result<Self, HarnessError> {
        let program = locate()?;
        std::fs::create_dir_all(dir)?;
        let (s3_port, rpc_port) = (free_port()?, free_port()?);
        let secret: String = (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
        let config = dir.join("garage.toml");
        let text = format!(
            "metadata_dir = \"{meta}\"\ndata_dir = \"{data}\"\ndb_engine = \"sqlite\"\nreplication_factor = 1\n\
             rpc_bind_addr = \"127.0.0.1:{rpc_port}\"\nrpc_public_addr = \"127.0.0.1:{rpc_port}\"\nrpc_secret = \"{secret}\"\n\
             [s3_api]\ns3_region = \"{REGION}\"\napi_bind_addr = \"127.0.0.1:{s3_port}\"\n",
            meta = dir.join("meta").display(),
            data = dir.join("data").display(),
        );
        std::fs::write(&config, text)?;
        let endpoint = format!("http://127.0.0.1:{s3_port}");
        let mut garage = Self { process: None, program, config, instance: instance.to_owned(), endpoint, bucket: bucket.to_owned() };
        garage.launch().await?;
        garage.provision()?;
        Ok(garage)
    }

    async fn launch(&mut self) -> Result<(), HarnessError> {
        let config = self.config.display().to_string();
        let args = ["-c", config.as_str(), "server"];
        let mut process = Supervised::spawn("garage", &self.program, args, &[], &self.instance)?;
        let addr = self.endpoint.trim_start_matches("http://").to_owned();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = process.try_exited() {
                return Err(HarnessError::Garage(format!("exited ({status}): {}", process.tail())));
            }
            if tokio::net::TcpStream::connect(&addr).await.is_ok() && self.cli(&["status"]).is_ok() {
                self.process = Some(process);
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(HarnessError::Garage("S3 API not up within 20 s".into()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One-node layout, the bucket, the key and its rights.
    fn provision(&self) -> Result<(), HarnessError> {
        let node = self.cli(&["node", "id", "-q"])?;
        let node = node.trim().split('@').next().unwrap_or_default().to_owned();
        self.cli(&["layout", "assign", "-z", "dc1", "-c", "1G", &node])?;
        self.cli(&["layout", "apply", "--version", "1"])?;
        self.cli(&["bucket", "create", &self.bucket])?;
        self.cli(&["key", "import", "--yes", "-n", "wallflower-test", KEY_ID, SECRET])?;
        self.cli(&["bucket", "allow", "--read", "--write", "--owner", &self.bucket, "--key", "wallflower-test"])?;
        Ok(())
    }

    /// Runs the `garage` command-line client against this node; its standard output.
    pub fn cli(&self, args: &[&str]) -> Result<String, HarnessError> {
        let out = Command::new(&self.program).arg("-c").arg(&self.config).args(args).output()?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(HarnessError::Garage(format!("garage {}: {}", args.join(" "), err.trim())));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `[storage.s3.default]` for Wallflower's config file, pointing at this store.
    pub fn profile_toml(&self) -> String {
        format!(
            "[storage.s3.default]\nendpoint = \"{}\"\nregion = \"{REGION}\"\nbucket = \"{}\"\npath_style = true\n\
             access_key_id = \"{KEY_ID}\"\nsecret_access_key = \"{SECRET}\"\n",
            self.endpoint, self.bucket
        )
    }

    /// A client with the test key for the bucket, to look at what landed (or presign URLs).
    pub fn client(&self) -> Result<object_store::aws::AmazonS3, HarnessError> {
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region(REGION)
            .with_bucket_name(&self.bucket)
            .with_access_key_id(KEY_ID)
            .with_secret_access_key(SECRET)
            .build()
            .map_err(|e| HarnessError::Garage(e.to_string()))
    }

    /// Stops the server (its data stays), to test uploads against a store that went away.
    pub async fn kill(&mut self) {
        if let Some(process) = self.process.take() {
            process.terminate(Duration::from_secs(5)).await;
        }
    }

    /// Starts the server again on the same data.
    pub async fn restart(&mut self) -> Result<(), HarnessError> {
        self.kill().await;
        self.launch().await
    }

    /// Stops Garage for good.
    pub async fn stop(mut self) {
        self.kill().await;
    }
}

/// `garage` on the PATH, else where `cargo install` puts it.
fn locate() -> Result<PathBuf, HarnessError> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("garage")).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(home.map(|h| h.join("bin/garage")));
    for candidate in candidates {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(HarnessError::Garage("`garage` not found; run scripts/setup --test-servers (cargo install garage)".into()))
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
