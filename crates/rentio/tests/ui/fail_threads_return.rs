#[rentio::main(threads = 2)]
async fn main() -> u32 {
    1
}
