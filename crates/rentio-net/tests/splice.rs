//! `splice::copy`: a 64 MiB file to a socket, and a socket to a file;
//! `splice::copy_tee`: a file to two sockets. On io_uring, with the
//! opcode masked (the blocking pool's syscalls), and on readiness, every
//! byte in place.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Read, Write};

use rentio_net::TcpListener;
use rentio_net::splice::{self, End};

const SIZE: usize = 64 << 20;

#[test]
fn a_64_mib_file_goes_to_a_socket_and_back_to_a_file() {
    let dir = std::env::temp_dir().join(format!("rentio-splice-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("src");
    let data = support::pattern(SIZE);
    std::fs::write(&src, &data).unwrap();
    let splice = <rentio_driver::op::Splice as rentio_driver::OpCode>::CODE;
    let configs = support::opcode_configs(&[splice], "uring, splice masked");
    support::each_config(configs, |_| {
        let (src, dir, data) = (src.clone(), dir.clone(), &data);
        async move {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let reader = std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                let mut got = Vec::with_capacity(SIZE);
                s.read_to_end(&mut got).unwrap();
                got
            });
            let (stream, _) = listener.accept().await.unwrap();
            let file = std::fs::File::open(&src).unwrap();
            let sent = splice::copy(End::at(&file, 0), End::stream(&stream), None)
                .await
                .unwrap();
            assert_eq!(sent, SIZE as u64);
            drop(stream);
            assert!(reader.join().unwrap() == *data, "the socket got the file");

            // A socket to a file, a given length.
            let (stream2, client) = {
                let c = std::thread::spawn(move || {
                    let mut s = std::net::TcpStream::connect(addr).unwrap();
                    s.write_all(&support::pattern(1 << 20)).unwrap();
                    s
                });
                let (s, _) = listener.accept().await.unwrap();
                (s, c)
            };
            let out = std::fs::File::create(dir.join("out")).unwrap();
            let got = splice::copy(End::stream(&stream2), End::at(&out, 0), Some(1 << 20))
                .await
                .unwrap();
            assert_eq!(got, 1 << 20);
            drop(client.join().unwrap());
            assert!(std::fs::read(dir.join("out")).unwrap() == support::pattern(1 << 20));
        }
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `splice::copy_tee`: a file goes to two sockets at once, whole on each,
/// with `IORING_OP_TEE` and with it masked (the pool's `tee(2)`), and on
/// readiness.
#[test]
fn copy_tee_sends_a_file_to_two_sockets() {
    const LEN: usize = 4 << 20;
    let dir = std::env::temp_dir().join(format!("rentio-tee-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("src");
    let data = support::pattern(LEN);
    std::fs::write(&src, &data).unwrap();
    let tee = <rentio_driver::op::Tee as rentio_driver::OpCode>::CODE;
    let configs = support::opcode_configs(&[tee], "uring, tee masked");
    for (name, builder) in configs {
        let rt = builder.build().unwrap();
        rt.block_on(async {
            let (a, a_peer) = std::os::unix::net::UnixStream::pair().unwrap();
            let (b, b_peer) = std::os::unix::net::UnixStream::pair().unwrap();
            let (a, b) = (
                rentio_net::UnixStream::from_std(a),
                rentio_net::UnixStream::from_std(b),
            );
            let readers: Vec<_> = [a_peer, b_peer]
                .into_iter()
                .map(|mut s| {
                    std::thread::spawn(move || {
                        s.set_nonblocking(false).unwrap();
                        let mut got = Vec::with_capacity(LEN);
                        s.read_to_end(&mut got).unwrap();
                        got
                    })
                })
                .collect();
            let file = std::fs::File::open(&src).unwrap();
            let sent = splice::copy_tee(End::at(&file, 0), End::stream(&a), End::stream(&b), None)
                .await
                .unwrap();
            assert_eq!(sent, LEN as u64, "{name}");
            drop((a, b));
            for reader in readers {
                assert!(
                    reader.join().unwrap() == data,
                    "{name}: each socket got the file"
                );
            }
        });
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
