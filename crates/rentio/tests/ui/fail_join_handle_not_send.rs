// A JoinHandle of a !Send output cannot cross threads.
fn main() {
    let rt = rentio::Runtime::new().unwrap();
    let handle = rt.spawn(async { std::rc::Rc::new(1) });
    std::thread::spawn(move || drop(handle));
}
