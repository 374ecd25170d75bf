#[rentio::main(backend = "auto", entries = 128)]
async fn main() -> std::io::Result<()> {
    rentio::spawn(async {}).await.map_err(std::io::Error::from)?;
    Ok(())
}
