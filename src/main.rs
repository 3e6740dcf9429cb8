//! The `snarkml` command.

fn main() {
    std::process::exit(snarkml::cli::main());
}
