//! The `wallflower` binary: see [`wallflower::cli`].

#[tokio::main]
async fn main() -> std::process::ExitCode {
    wallflower::cli::main().await
}
