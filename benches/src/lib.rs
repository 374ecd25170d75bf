//! Criterion benchmarks for rentio; see `benches/`. The library holds the
//! loops that more than one bench runs.

/// The median of `values` (sorted in place); the upper one of an even
/// count.
///
/// # Panics
///
/// If `values` is empty.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

pub mod nop {
    //! One million `IORING_OP_NOP`s: a bare `io-uring` crate loop and the
    //! two rentio-driver faces, with the same ring flags and batch size.

    use std::hint::black_box;

    use io_uring::{IoUring, opcode};
    use rentio_driver::Driver;
    use rentio_driver::op::Nop;

    /// NOPs per run.
    pub const TOTAL: usize = 1_000_000;

    /// A ring with the flags rentio-driver sets up by default.
    pub fn bare_ring() -> IoUring {
        IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_taskrun_flag()
            .setup_submit_all()
            .build(1024)
            .expect("io_uring setup")
    }

    /// `TOTAL` NOPs through the `io-uring` crate alone.
    pub fn bare_loop(ring: &mut IoUring, batch: usize) {
        let mut done = 0;
        while done < TOTAL {
            {
                let mut sq = ring.submission();
                for _ in 0..batch {
                    let entry = opcode::Nop::new().build().user_data(done as u64);
                    // SAFETY: a NOP points at no memory.
                    unsafe { sq.push(&entry).expect("SQ has room for a batch") };
                }
            }
            ring.submit_and_wait(batch).expect("enter");
            for cqe in ring.completion() {
                black_box(cqe.result());
                done += 1;
            }
        }
    }

    /// `TOTAL` NOPs pushed for the driver to keep (`Driver::batch`, as the
    /// bare loop pushes a batch under one `submission()`) and taken back
    /// with `Driver::completions`.
    pub fn rentio_loop(driver: &Driver, batch: usize) {
        let mut done = 0;
        while done < TOTAL {
            {
                let mut pushes = driver.batch();
                for _ in 0..batch {
                    pushes.push(Nop).expect("push");
                }
            }
            take_back(driver, batch);
            done += batch;
        }
    }

    /// [`rentio_loop`] with each NOP pushed on its own (`Driver::push`).
    pub fn rentio_push_loop(driver: &Driver, batch: usize) {
        let mut done = 0;
        while done < TOTAL {
            for _ in 0..batch {
                driver.push(Nop).expect("push");
            }
            take_back(driver, batch);
            done += batch;
        }
    }

    /// Ticks until `n` NOPs came back through `Driver::completions`.
    #[inline(always)]
    fn take_back(driver: &Driver, n: usize) {
        let mut left = n;
        while left > 0 {
            driver.poll(None).expect("poll");
            driver.completions(|finished| {
                black_box(finished.output::<Nop>())
                    .expect("a Nop")
                    .expect("nop");
                left -= 1;
            });
        }
    }

    /// `TOTAL` NOPs kept in `Op` handles (`Driver::submit`, `Op::try_complete`).
    pub fn rentio_handle_loop(driver: &Driver, batch: usize) {
        let mut ops = Vec::with_capacity(batch);
        let mut done = 0;
        while done < TOTAL {
            for _ in 0..batch {
                ops.push(driver.submit(Nop).expect("push"));
            }
            while !ops.is_empty() {
                driver.poll(None).expect("poll");
                ops.retain_mut(|op| match op.try_complete() {
                    Some(result) => {
                        black_box(result).expect("nop");
                        done += 1;
                        false
                    }
                    None => true,
                });
            }
        }
    }
}
