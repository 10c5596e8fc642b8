//! The `wallflower` binary's commands: `serve` (the REST service), `record` (one recording,
//! no server), `calibrate` (measure the sound/picture offset), `layouts` (list and preview
//! layouts) and `demo` (a live call recorded end to end).

mod calibrate;
mod demo;
mod layouts;
mod record;

use clap::{Parser, Subcommand};

use crate::app::Application;
use crate::config::{ServeArgs, Settings, file_log_format};
use crate::logging::LogFormat;

#[derive(Parser)]
#[command(name = "wallflower", version, about = "Records video calls and web pages as a silent participant")]
struct Cli {
    /// Log lines as `text` or `json` (default: the config file's `log_format`, else text).
    #[arg(long, global = true, env = "WALLFLOWER_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// The flag or its environment variable, else the config file's key, else text.
    fn log_format(&self) -> LogFormat {
        let file = match &self.command {
            Command::Serve(args) => args.common.config.as_deref(),
            Command::Record(args) => args.common.config.as_deref(),
            Command::Calibrate(args) => args.common.config.as_deref(),
            Command::Layouts(_) | Command::Demo(_) => None,
        };
        self.log_format.or_else(|| file.and_then(file_log_format)).unwrap_or_default()
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the REST service.
    Serve(ServeArgs),
    /// Make one recording without the service and write it to a file.
    Record(record::RecordArgs),
    /// Measure this machine's sound/picture offset and print the `sound_shift_ms` that cancels it.
    Calibrate(calibrate::CalibrateArgs),
    /// List layouts, or render one with simulated participants to a PNG.
    #[command(subcommand)]
    Layouts(layouts::LayoutsCommand),
    /// Record a live call: Janus and three synthetic participants in a private network
    /// namespace, the service, a 20 s recording over REST (needs root).
    Demo(demo::DemoArgs),
}

/// Entry point of the binary; returns the process exit code.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    crate::logging::init(cli.log_format());
    let command = cli.command;
    // The demo's namespace must exist before the runtime starts its threads: only threads and
    // processes created afterwards are inside it.
    if let Command::Demo(_) = command
        && let Err(e) = crate::harness::netns::isolate()
    {
        eprintln!("error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(async {
        match command {
            Command::Serve(args) => serve(args).await,
            Command::Record(args) => record::run(args).await,
            Command::Calibrate(args) => calibrate::run(args).await,
            Command::Layouts(command) => layouts::run(command).await,
            Command::Demo(args) => demo::run(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(&args)?;
    let app = Application::build(settings).await?;
    println!("wallflower listening on http://{}", app.local_addr());
    let signals = count_signals();
    let nth = |n: u32| {
        let mut count = signals.clone();
        async move {
            let _ = count.wait_for(|c| *c >= n).await;
        }
    };
    app.run_until(nth(1), nth(2)).await
}

/// Counts SIGINT and SIGTERM: the first shuts down gracefully, the second in a hurry.
fn count_signals() -> tokio::sync::watch::Receiver<u32> {
    let (tx, rx) = tokio::sync::watch::channel(0);
    tokio::spawn(async move {
        loop {
            shutdown_signal().await;
            tx.send_modify(|c| *c += 1);
        }
    });
    rx
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
