// A spawned task may be detached with a plain statement, as with tokio and
// monoio: `JoinHandle` is not `#[must_use]`.
#![deny(unused_must_use)]

fn main() -> std::io::Result<()> {
    let rt = rentio::Runtime::new()?;
    rt.spawn(async {});
    rt.block_on(async {
        rentio::spawn(async {});
        rentio::spawn_blocking(|| ());
        rentio::yield_now().await;
    });
    Ok(())
}
