//! The `wallflower` binary: see [`wallflower::cli`].

fn main() -> std::process::ExitCode {
    wallflower::cli::main()
}
