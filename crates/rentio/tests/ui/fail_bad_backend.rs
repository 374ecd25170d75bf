#[rentio::main(backend = "kqueue")]
async fn main() {}
