//! `wallflower layouts list` and `wallflower layouts preview NAME …`: the layout catalog and
//! preview PNGs with simulated participants, without running the service.

use std::path::PathBuf;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::config::{CommonArgs, ServeArgs, Settings};
use crate::layouts::AssetServer;
use crate::layouts::preview::{PreviewRequest, Previewer};

#[derive(clap::Subcommand)]
pub enum LayoutsCommand {
    /// List the layouts (built-in and custom) with their parameters.
    List {
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Render a layout with simulated participants to a PNG.
    Preview(PreviewArgs),
}

#[derive(clap::Args)]
pub struct PreviewArgs {
    /// The layout, e.g. `grid`, `speaker`, `presentation`, `single`.
    name: String,
    /// Simulated participants (0-25).
    #[arg(long, default_value_t = 4)]
    participants: u32,
    /// Image size, e.g. `1280x720`.
    #[arg(long, default_value = "1280x720")]
    size: String,
    /// A JSON file with the `branding` object of a request.
    #[arg(long)]
    branding: Option<PathBuf>,
    /// The layout's parameters as a JSON object, e.g. `{"filmstrip":"right"}`.
    #[arg(long)]
    params: Option<String>,
    /// Where to write the PNG.
    #[arg(long, default_value = "preview.png")]
    out: PathBuf,
    #[command(flatten)]
    common: CommonArgs,
}

pub async fn run(command: LayoutsCommand) -> anyhow::Result<()> {
    match command {
        LayoutsCommand::List { common } => list(&common),
        LayoutsCommand::Preview(args) => preview(args).await,
    }
}

fn list(common: &CommonArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(&ServeArgs { common: common.clone(), ..ServeArgs::default() })?;
    for layout in settings.layouts().catalog.list() {
        let origin = format!("{:?}", layout.origin).to_lowercase();
        println!("{:<14} {:<8} {}", layout.name, origin, layout.description);
        for (param, spec) in &layout.params {
            println!("{:<14}   {param}: {spec}", "");
        }
    }
    Ok(())
}

async fn preview(args: PreviewArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(&ServeArgs { common: args.common.clone(), ..ServeArgs::default() })?;
    let mut request = PreviewRequest::new(&args.name);
    let (w, h) = args.size.split_once('x').context("--size must look like 1280x720")?;
    request.width = w.parse().context("--size width")?;
    request.height = h.parse().context("--size height")?;
    request.participants = args.participants;
    if let Some(file) = &args.branding {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
        request.branding = serde_json::from_str(&text).with_context(|| format!("{}: not a branding object", file.display()))?;
    }
    if let Some(params) = &args.params {
        request.layout_params = serde_json::from_str(params).context("--params must be a JSON object")?;
    }
    let cancel = CancellationToken::new();
    let layouts = settings.layouts();
    let assets = AssetServer::start(&layouts, cancel.clone()).await?;
    let instance = uuid::Uuid::new_v4().simple().to_string();
    let previewer = Previewer::new(layouts, settings.chromium.clone(), settings.sandbox()?, assets.url, instance);
    let shot = previewer.render(&request).await;
    cancel.cancel();
    let shot = shot?;
    std::fs::write(&args.out, &shot.png).with_context(|| format!("cannot write {}", args.out.display()))?;
    println!("{} ({}x{}, {} participants, layout {})", args.out.display(), request.width, request.height, request.participants, request.layout);
    Ok(())
}
