//! [`IoBuf`](crate::IoBuf), [`IoBufMut`](crate::IoBufMut) and the vectored
//! traits for std and `bytes` types.

#[cfg(feature = "bytes")]
mod bytes;
mod io_vec;
mod std;
