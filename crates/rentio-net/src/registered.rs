//! Stream sockets with the ring's registered resources: reads and writes
//! through registered buffers ([`FixedBufPool`](rentio_driver::FixedBufPool)),
//! and the socket itself as a direct descriptor.

use std::io;

use rentio_buf::BufResult;
use rentio_driver::FixedBuf;

use crate::{TcpStream, UnixStream};

macro_rules! fixed_io {
    ($t:ty) => {
        impl $t {
            /// Reads into a registered buffer's spare capacity
            /// (`IORING_OP_READ_FIXED`: the kernel uses the pages it
            /// pinned at registration). A buffer not registered with this
            /// runtime's ring (a pool on readiness, on a restricted ring,
            /// or with `READ_FIXED` masked) takes the plain read.
            ///
            /// ```no_run
            /// # rentio_executor::Runtime::new()?.block_on(async {
            #[doc = concat!("# let stream: rentio_net::", stringify!($t), " = todo!();")]
            /// let driver = rentio_executor::current_driver()?;
            /// let pool = rentio_driver::FixedBufPool::new(&driver, 64, 16 << 10)?;
            /// let (n, buf) = stream.read_fixed(pool.take().await).await;
            /// let (m, _buf) = stream.write_fixed(buf).await; // echo it
            /// # let _ = (n?, m?);
            /// # Ok::<(), std::io::Error>(())
            /// # })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            ///
            /// # Errors
            ///
            /// As `read(2)` on the socket.
            ///
            /// # Cancel safety
            ///
            /// As a plain read: dropping the future loses what it read;
            /// the buffer returns to its pool once the kernel is done.
            pub async fn read_fixed(&self, buf: FixedBuf) -> BufResult<usize, FixedBuf> {
                self.socket.read_fixed(buf).await
            }

            /// Writes a registered buffer's initialized part to the
            /// socket: a send (`MSG_NOSIGNAL`), whichever ring the buffer
            /// is registered with, so a reset peer is an `EPIPE`, never a
            /// `SIGPIPE`. (`WRITE_FIXED` would be `write(2)` on the
            /// socket, which raises it; and a socket copies what it sends
            /// into its own buffers, so the registration would save
            /// nothing.) It lets one pool's buffers serve both
            /// directions. Returns how many bytes went, which may be
            /// fewer than all.
            ///
            /// # Errors
            ///
            /// As `send(2)`.
            ///
            /// # Cancel safety
            ///
            /// Dropping the future may or may not have sent the bytes.
            pub async fn write_fixed(&self, buf: FixedBuf) -> BufResult<usize, FixedBuf> {
                self.socket.write_fixed(buf).await
            }

            /// Registers the socket in its runtime's table of direct
            /// descriptors (see
            /// [`Builder::direct_descriptors`](rentio_driver::Builder::direct_descriptors)):
            /// its reads, writes, receives, sends and polls then name a
            /// slot of the ring's table instead of the fd, and the kernel
            /// skips the fd lookup on each. Dropping the socket (or
            /// handing its fd away) takes it out of the table.
            ///
            /// Returns `false`, and nothing changes, where there is no
            /// table (readiness, a runtime built without
            /// `direct_descriptors`, a kernel before 5.19) or it is full.
            ///
            /// ```no_run
            /// # fn main() -> std::io::Result<()> {
            /// let mut builder = rentio_executor::Runtime::builder();
            /// builder.driver().direct_descriptors(1024);
            /// builder.build()?.block_on(async {
            #[doc = concat!("    # let stream: rentio_net::", stringify!($t), " = todo!();")]
            ///     let direct = stream.register_direct()?;
            ///     println!("by slot: {direct}");
            ///     Ok(())
            /// })
            /// # }
            /// ```
            ///
            /// # Errors
            ///
            /// A socket used from another runtime, or the kernel's
            /// refusal of the update.
            pub fn register_direct(&self) -> io::Result<bool> {
                let driver = self.socket.driver()?;
                // SAFETY: the socket's fd leaves only through this
                // driver: `Socket`'s drop closes it with `Driver::close`,
                // and `into_fd` (handing it away) with `release_fd`.
                unsafe { driver.register_direct(self.socket.fd()) }
            }
        }
    };
}

fixed_io!(TcpStream);
fixed_io!(UnixStream);
