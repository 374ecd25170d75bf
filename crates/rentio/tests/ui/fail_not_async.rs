#[rentio::main]
fn main() {}
