//! The `emotty` command line. Library errors become one line on stderr here, at the
//! edge; everything else lives in the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            // File names and metadata inside the message are data: escaped, never
            // executed by the terminal.
            eprintln!("emotty: {}", emotty::text::visible(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}
