//! Reads and writes of stream sockets through registered buffers
//! ([`FixedBufPool`](rentio_driver::FixedBufPool)).

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

            /// Writes a registered buffer's initialized part
            /// (`IORING_OP_WRITE_FIXED`), or a plain send for a buffer
            /// not registered with this runtime's ring. Returns how many
            /// bytes went, which may be fewer than all.
            ///
            /// `WRITE_FIXED` is `write(2)` on the socket, without
            /// `MSG_NOSIGNAL`: a write to a reset peer raises `SIGPIPE`,
            /// which Rust programs ignore by default (the error is then
            /// `EPIPE`); a program that restores it dies of it.
            ///
            /// # Errors
            ///
            /// As `write(2)` on the socket.
            ///
            /// # Cancel safety
            ///
            /// Dropping the future may or may not have sent the bytes.
            pub async fn write_fixed(&self, buf: FixedBuf) -> BufResult<usize, FixedBuf> {
                self.socket.write_fixed(buf).await
            }
        }
    };
}

fixed_io!(TcpStream);
fixed_io!(UnixStream);
