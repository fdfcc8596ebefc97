//! The command line for this project's agents: `cargo run -- agents`, `run`, `graph`, `synth`,
//! `check`, `invoke`, `history` (`cargo run -- --help`).

fn main() -> std::process::ExitCode {
    sfn_agent::App::new()
        .agents(custom_agent::agents::all())
        .tool(custom_agent::tools::WordCount)
        .toolbox_with(sfn_agent::stock_tools::toolbox_from_env)
        .run()
}
