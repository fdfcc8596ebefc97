//! Answering the approval requests and questions of a local run: on the terminal, or from
//! `--approve all|none` and `--answer TEXT` (for scripts and tests).

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use crate::local::{PersonRequest, Reply, Responder};

/// The responder of `sfn-agent run`: `approve` answers every approval (`all` or `none`),
/// `answer` every question; what neither covers is asked on the terminal, one line each. With
/// no terminal to ask, an approval is denied and a question left without an answer, and the
/// model is told so.
pub fn responder(approve: Option<&str>, answer: Option<String>) -> Responder {
    let approve = approve.map(|a| a == "all");
    Arc::new(move |request: &PersonRequest| {
        eprintln!("  ? {}", request.summary);
        match (request.kind.as_str(), approve, &answer) {
            ("approval", Some(true), _) => {
                eprintln!("    approved (--approve all)");
                Reply::Approve
            }
            ("approval", Some(false), _) => {
                eprintln!("    denied (--approve none)");
                Reply::Deny("denied with --approve none".to_owned())
            }
            ("question", _, Some(text)) => {
                eprintln!("    answered (--answer)");
                Reply::Answer(text.clone())
            }
            ("question", _, None) => match ask("    your answer: ") {
                Some(text) if !text.is_empty() => Reply::Answer(text),
                _ => Reply::Deny("no answer came from the terminal".to_owned()),
            },
            _ => match ask("    approve? [y/N, or a reason to deny] ") {
                Some(text) if matches!(text.to_lowercase().as_str(), "y" | "yes") => Reply::Approve,
                Some(text)
                    if !text.is_empty() && !matches!(text.to_lowercase().as_str(), "n" | "no") =>
                {
                    Reply::Deny(text)
                }
                _ => Reply::Deny("denied on the terminal".to_owned()),
            },
        }
    })
}

/// One line from the terminal, or `None` when there is no terminal or it is closed.
fn ask(prompt: &str) -> Option<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        eprintln!("    (no terminal to ask: pass --approve all|none and --answer TEXT)");
        return None;
    }
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    match stdin.lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_owned()),
    }
}
