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
            eprintln!("emotty: {e:#}");
            ExitCode::FAILURE
        }
    }
}
