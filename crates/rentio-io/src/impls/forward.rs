//! Forwarding impls: `&mut T` and `Box<T>` read, write and buffer like the
//! `T` they point to.

use std::future::Future;
use std::io;

use rentio_buf::{BufResult, IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};

use crate::{AsyncBufRead, AsyncReadRent, AsyncReadRentAt, AsyncWriteRent, AsyncWriteRentAt};

/// Implements the rent traits for a pointer type `$ptr` to a `T: ?Sized` by
/// calling them on `**self`.
macro_rules! forward {
    ($($ptr:ty),*) => {$(
        impl<T: AsyncReadRent + ?Sized> AsyncReadRent for $ptr {
            /// Reads from the pointee.
            ///
            /// # Cancel safety
            ///
            /// As the pointee's [`read`](AsyncReadRent::read).
            fn read<B: IoBufMut>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
                (**self).read(buf)
            }

            /// Reads from the pointee.
            ///
            /// # Cancel safety
            ///
            /// As the pointee's [`readv`](AsyncReadRent::readv).
            fn readv<B: IoVecBufMut>(
                &mut self,
                buf: B,
            ) -> impl Future<Output = BufResult<usize, B>> {
                (**self).readv(buf)
            }
        }

        impl<T: AsyncWriteRent + ?Sized> AsyncWriteRent for $ptr {
            /// Writes to the pointee.
            ///
            /// # Cancel safety
            ///
            /// As the pointee's [`write`](AsyncWriteRent::write).
            fn write<B: IoBuf>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
                (**self).write(buf)
            }

            /// Writes to the pointee.
            ///
            /// # Cancel safety
            ///
            /// As the pointee's [`writev`](AsyncWriteRent::writev).
            fn writev<B: IoVecBuf>(&mut self, buf: B) -> impl Future<Output = BufResult<usize, B>> {
                (**self).writev(buf)
            }

            /// Flushes the pointee.
            ///
            /// # Cancel safety
            ///
            /// As the pointee's [`flush`](AsyncWriteRent::flush).
            fn flush(&mut self) -> impl Future<Output = io::Result<()>> {
                (**self).flush()
            }

            /// Shuts the pointee down.
            ///
            /// # Cancel safety
            ///
            /// As the pointee's [`shutdown`](AsyncWriteRent::shutdown).
            fn shutdown(&mut self) -> impl Future<Output = io::Result<()>> {
                (**self).shutdown()
            }
        }

        impl<T: AsyncReadRentAt + ?Sized> AsyncReadRentAt for $ptr {
            /// Reads from the pointee at `pos`.
            ///
            /// # Cancel safety
            ///
            /// As the pointee's [`read_at`](AsyncReadRentAt::read_at).
            fn read_at<B: IoBufMut>(
                &mut self,
                buf: B,
                pos: u64,
            ) -> impl Future<Output = BufResult<usize, B>> {
                (**self).read_at(buf, pos)
            }
        }

        impl<T: AsyncWriteRentAt + ?Sized> AsyncWriteRentAt for $ptr {
            /// Writes to the pointee at `pos`.
            ///
            /// # Cancel safety
            ///
            /// As the pointee's [`write_at`](AsyncWriteRentAt::write_at).
            fn write_at<B: IoBuf>(
                &mut self,
                buf: B,
                pos: u64,
            ) -> impl Future<Output = BufResult<usize, B>> {
                (**self).write_at(buf, pos)
            }
        }

        impl<T: AsyncBufRead + ?Sized> AsyncBufRead for $ptr {
            /// Fills the pointee's buffer.
            ///
            /// # Cancel safety
            ///
            /// As the pointee's [`fill_buf`](AsyncBufRead::fill_buf).
            fn fill_buf(&mut self) -> impl Future<Output = io::Result<&[u8]>> {
                (**self).fill_buf()
            }

            fn consume(&mut self, amt: usize) {
                (**self).consume(amt);
            }
        }
    )*};
}

forward!(&mut T, Box<T>);
