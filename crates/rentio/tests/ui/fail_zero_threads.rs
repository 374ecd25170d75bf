#[rentio::main(threads = 0)]
async fn main() {}
