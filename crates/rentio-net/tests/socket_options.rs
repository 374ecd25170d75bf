//! Socket options on both backends: the hop limit (`set_ttl`/`ttl`) goes
//! through `IP_TTL` on IPv4 sockets and `IPV6_UNICAST_HOPS` on IPv6 ones,
//! and the other options read back what was set.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use rentio_net::{TcpListener, TcpStream, UdpSocket};
use rustix::net::sockopt;
use support::each_backend;

/// A connected client stream to a listener on `addr` (port 0), with the
/// accepted end, or `None` when the address family is not available here.
async fn pair(addr: &str) -> Option<(TcpStream, TcpStream)> {
    let listener = match TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) if e.kind() == ErrorKind::AddrNotAvailable => return None,
        Err(e) => panic!("binding {addr}: {e}"),
    };
    let addr = listener.local_addr().unwrap();
    let client = TcpStream::connect(&addr).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    Some((client, server))
}

fn ttl_round_trips(addr: &'static str) {
    each_backend(|| async move {
        let Some((client, server)) = pair(addr).await else {
            eprintln!("skipped: {addr} is not available on this machine");
            return;
        };
        let v6 = addr.starts_with('[');
        for ttl in [1, 17, 255] {
            client.set_ttl(ttl).unwrap();
            assert_eq!(client.ttl().unwrap(), ttl, "{addr}");
            // What the kernel holds, read without rentio-net: on IPv6 the
            // hop limit, not only IP_TTL (which IPv6 packets ignore).
            if v6 {
                let hops = sockopt::ipv6_unicast_hops(&client).unwrap();
                assert_eq!(u32::from(hops), ttl, "IPV6_UNICAST_HOPS on {addr}");
            }
            assert_eq!(sockopt::ip_ttl(&client).unwrap(), ttl, "IP_TTL on {addr}");
        }
        // The accepted end is a socket of the same family.
        server.set_ttl(42).unwrap();
        assert_eq!(server.ttl().unwrap(), 42, "{addr}");

        let udp = UdpSocket::bind(addr).unwrap();
        udp.set_ttl(9).unwrap();
        assert_eq!(udp.ttl().unwrap(), 9, "{addr}");
    });
}

#[test]
fn ttl_round_trips_on_ipv4() {
    ttl_round_trips("127.0.0.1:0");
}

#[test]
fn ttl_round_trips_on_ipv6() {
    ttl_round_trips("[::1]:0");
}

#[test]
fn stream_options_read_back() {
    each_backend(|| async {
        let (client, _server) = pair("127.0.0.1:0").await.unwrap();
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        client.set_nodelay(false).unwrap();
        assert!(!client.nodelay().unwrap());
        client.set_keepalive(Some(Duration::from_secs(30))).unwrap();
        assert!(client.keepalive().unwrap());
        client.set_keepalive(None).unwrap();
        assert!(!client.keepalive().unwrap());
        // Whole seconds, rounded up.
        client
            .set_linger(Some(Duration::from_millis(1500)))
            .unwrap();
        assert_eq!(client.linger().unwrap(), Some(Duration::from_secs(2)));
        client.set_linger(None).unwrap();
        assert_eq!(client.linger().unwrap(), None);
    });
}

#[test]
fn udp_broadcast_is_set() {
    each_backend(|| async {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        udp.set_broadcast(true).unwrap();
        assert!(udp.broadcast().unwrap());
        udp.set_broadcast(false).unwrap();
        assert!(!udp.broadcast().unwrap());
        let _: SocketAddr = udp.local_addr().unwrap();
    });
}

/// A TTL outside 1..=255 is `InvalidInput` on both families and changes
/// nothing (before, `u32::MAX` reached the kernel as -1, "the default",
/// and an IPv6 hop limit of 0 was set before its `IP_TTL` failed).
#[test]
fn refused_ttls_change_nothing() {
    each_backend(|| async {
        for addr in ["127.0.0.1:0", "[::1]:0"] {
            let Some((client, _server)) = pair(addr).await else {
                eprintln!("skipped {addr}: not available on this machine");
                continue;
            };
            client.set_ttl(17).unwrap();
            for bad in [0, 256, u32::MAX] {
                let err = client.set_ttl(bad).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidInput, "{addr} {bad}");
                assert_eq!(client.ttl().unwrap(), 17, "{addr} {bad} changed the TTL");
            }
        }
    });
}
