//! `sfn-agent new DIR`: a ready project for a team, from the templates in `cli/templates/`.
//!
//! The project depends on this framework by path (nothing is published yet): its Cargo.toml on
//! the `sfn-agent` crate, its CDK app on the construct in `construct/`. It starts from the
//! framework's lockfile, so it builds with the versions the framework is tested with.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::out::outln;
use crate::project::Project;

/// Arguments of `new`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to create (it must not exist, or be empty). Its name names the project and
    /// its agent.
    dir: PathBuf,
    /// The sfn-agent repository to depend on (default: the one this command was built from).
    #[arg(long, value_name = "PATH")]
    framework: Option<PathBuf>,
}

/// A template file: where it goes in the project, and its text with `{{…}}` placeholders.
struct Template {
    path: &'static str,
    text: &'static str,
}

macro_rules! templates {
    ($($path:literal => $file:literal),* $(,)?) => {
        &[$(Template { path: $path, text: include_str!(concat!("../templates/project/", $file)) }),*]
    };
}

/// Every file of a new project.
const TEMPLATES: &[Template] = templates![
    "Cargo.toml" => "Cargo.toml.tmpl",
    "README.md" => "README.md.tmpl",
    ".gitignore" => "gitignore.tmpl",
    "src/lib.rs" => "src/lib.rs.tmpl",
    "src/main.rs" => "src/main.rs.tmpl",
    "src/agents.rs" => "src/agents.rs.tmpl",
    "src/tools.rs" => "src/tools.rs.tmpl",
    "src/bin/tool-word-count.rs" => "src/bin/tool-word-count.rs.tmpl",
    "src/bin/tool-calculate.rs" => "src/bin/tool-calculate.rs.tmpl",
    "src/bin/llm-anthropic.rs" => "src/bin/llm-anthropic.rs.tmpl",
    "src/bin/sqs-trigger.rs" => "src/bin/sqs-trigger.rs.tmpl",
    "scripts/{{agent}}.json" => "scripts/agent.json.tmpl",
    "cdk/package.json" => "cdk/package.json.tmpl",
    "cdk/.npmrc" => "cdk/npmrc.tmpl",
    "cdk/cdk.json" => "cdk/cdk.json.tmpl",
    "cdk/tsconfig.json" => "cdk/tsconfig.json.tmpl",
    "cdk/bin/app.ts" => "cdk/bin/app.ts.tmpl",
];

/// The names a project's files use, derived from its folder's name.
struct Names {
    /// The Cargo package (`my-agent`).
    name: String,
    /// The package as a Rust crate (`my_agent`).
    krate: String,
    /// The agent (`my-agent`).
    agent: String,
    /// The agent's function in `src/agents.rs` (`my_agent`).
    agent_fn: String,
    /// The CDK stack (`MyAgent`).
    stack: String,
}

impl Names {
    fn from_dir(dir: &Path) -> anyhow::Result<Self> {
        let Some(base) = dir.file_name().and_then(|n| n.to_str()) else {
            bail!(
                "`{}` has no folder name to name the project after",
                dir.display()
            );
        };
        let name: String = base
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .split('-')
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) || name.len() > 40 {
            bail!(
                "cannot name a project after `{base}`: give the folder a name that starts with a \
                 letter, of letters, digits and `-`, at most 40 characters (e.g. `my-agent`)"
            );
        }
        let snake = name.replace('-', "_");
        Ok(Self {
            stack: agent_builder::manifest::pascal_case(&name),
            krate: snake.clone(),
            agent_fn: snake,
            agent: name.clone(),
            name,
        })
    }

    fn fill(&self, text: &str, framework: &str) -> String {
        text.replace("{{name}}", &self.name)
            .replace("{{crate}}", &self.krate)
            .replace("{{agent_fn}}", &self.agent_fn)
            .replace("{{agent}}", &self.agent)
            .replace("{{stack}}", &self.stack)
            .replace("{{framework}}", framework)
    }
}

/// Writes the project and says what to run next.
pub fn run(project: &Project, args: Args) -> anyhow::Result<ExitCode> {
    let names = Names::from_dir(&args.dir)?;
    let framework = framework_root(args.framework)?;
    let framework_text = framework
        .to_str()
        .with_context(|| format!("the framework's path {} is not UTF-8", framework.display()))?;
    if args.dir.exists() {
        let empty = std::fs::read_dir(&args.dir)
            .with_context(|| format!("cannot read {}", args.dir.display()))?
            .next()
            .is_none();
        if !empty {
            bail!(
                "{} already exists and is not empty: choose a new folder",
                args.dir.display()
            );
        }
    }
    for template in TEMPLATES {
        let path = args.dir.join(names.fill(template.path, framework_text));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, names.fill(template.text, framework_text))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    // The framework's lockfile: the versions it is tested with. Cargo drops what the new
    // project does not use on its first build.
    let lockfile = framework.join("Cargo.lock");
    if lockfile.is_file() {
        std::fs::copy(&lockfile, args.dir.join("Cargo.lock"))
            .with_context(|| format!("cannot copy {}", lockfile.display()))?;
    }
    let dir = args.dir.display();
    let agent = &names.agent;
    outln!("wrote the project `{}` in {dir}", names.name);
    outln!();
    outln!("  cd {dir}");
    outln!(
        "  cargo run -- run {agent} \"How many words are in 'Step Functions waits for free', per 100 characters?\" --script scripts/{agent}.json"
    );
    outln!("  cargo run -- graph {agent}");
    outln!("  cargo run -- synth");
    outln!("  cd cdk && npm install && npx cdk synth -c sfnAgent:skipBundling=true");
    eprintln!();
    eprintln!(
        "({} new: the project depends on the framework at {framework_text})",
        project.name
    );
    Ok(ExitCode::SUCCESS)
}

/// The sfn-agent repository: `--framework`, else the one this crate was built from, which must
/// still be there.
fn framework_root(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let (root, source) = match given {
        Some(path) => (path, "--framework"),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
            "the folder this command was built from",
        ),
    };
    let facade = root.join("sfn-agent").join("Cargo.toml");
    let construct = root.join("construct").join("package.json");
    if !facade.is_file() || !construct.is_file() {
        bail!(
            "{} ({source}) is not an sfn-agent repository (no sfn-agent/Cargo.toml and \
             construct/package.json there): pass --framework PATH to a clone of it",
            root.display()
        );
    }
    root.canonicalize()
        .with_context(|| format!("cannot resolve {}", root.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_folder() {
        let names = Names::from_dir(Path::new("/tmp/My Agent_2")).expect("a name");
        assert_eq!(names.name, "my-agent-2");
        assert_eq!(names.krate, "my_agent_2");
        assert_eq!(names.stack, "MyAgent2");
        assert!(Names::from_dir(Path::new("/tmp/2fast")).is_err());
        assert!(Names::from_dir(Path::new("/")).is_err());
    }

    #[test]
    fn every_placeholder_is_filled() {
        let names = Names::from_dir(Path::new("word-helper")).expect("a name");
        for template in TEMPLATES {
            let text = names.fill(template.text, "/fw");
            assert!(!text.contains("{{"), "{}: {text}", template.path);
            assert!(!names.fill(template.path, "/fw").contains("{{"));
        }
    }
}
