//! Standard output for the commands' results. A reader that stops early (`sfn-agent exec … |
//! head`) ends the command quietly, as a command killed by SIGPIPE would, where `println!`
//! panics with a backtrace.

use std::io::{ErrorKind, Write};

/// Writes `text` to stdout. When the reader has gone, the command stops here with success;
/// any other write error (a full disk) stops it with an error message.
pub fn print(text: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// `println!` through [`print`].
macro_rules! outln {
    () => {
        $crate::out::print(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;
