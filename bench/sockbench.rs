//! Throughput of the tok agent over its socket, with persistent connections.
//!
//! std only, built by `bench/run` with plain `rustc -O` (not part of the main crate):
//!
//!     sockbench SOCKET CONNECTIONS SECONDS REQUEST_JSON
//!
//! Each connection gets its own thread, which sends the same request frame (4-byte big-endian
//! length + JSON) again and again and reads the answer, until the time is up. Prints one JSON
//! line: {"connections","seconds","requests","errors","rps","p50_us","p99_us"}.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: sockbench SOCKET CONNECTIONS SECONDS REQUEST_JSON");
        std::process::exit(2);
    }
    let socket = args[1].clone();
    let conns: usize = args[2].parse().expect("connections");
    let secs: f64 = args[3].parse().expect("seconds");
    let body = args[4].as_bytes();
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    let frame = Arc::new(frame);

    // Connect everything first, so connection setup is not part of the measurement.
    let mut streams = Vec::with_capacity(conns);
    for _ in 0..conns {
        match UnixStream::connect(&socket) {
            Ok(s) => streams.push(s),
            Err(e) => {
                eprintln!("sockbench: connect {socket}: {e}");
                std::process::exit(1);
            }
        }
    }
    let barrier = Arc::new(Barrier::new(conns + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::with_capacity(conns);
    for mut s in streams {
        let frame = frame.clone();
        let barrier = barrier.clone();
        let stop = stop.clone();
        handles.push(
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let mut ok = 0u64;
                    let mut errors = 0u64;
                    let mut lat: Vec<u32> = Vec::with_capacity(1 << 16);
                    let mut buf = vec![0u8; 64 * 1024];
                    barrier.wait();
                    while !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        if s.write_all(&frame).is_err() {
                            errors += 1;
                            break;
                        }
                        let mut hdr = [0u8; 4];
                        if s.read_exact(&mut hdr).is_err() {
                            errors += 1;
                            break;
                        }
                        let len = u32::from_be_bytes(hdr) as usize;
                        if len > buf.len() {
                            buf.resize(len, 0);
                        }
                        if s.read_exact(&mut buf[..len]).is_err() {
                            errors += 1;
                            break;
                        }
                        let us = t.elapsed().as_micros().min(u32::MAX as u128) as u32;
                        if buf[..len].starts_with(b"{\"type\":\"token\"") {
                            ok += 1;
                            if lat.len() < 1 << 20 {
                                lat.push(us);
                            }
                        } else {
                            errors += 1;
                        }
                    }
                    (ok, errors, lat)
                })
                .expect("spawn"),
        );
    }
    barrier.wait();
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let mut ok = 0;
    let mut errors = 0;
    let mut lat = Vec::new();
    for h in handles {
        let (o, e, l) = h.join().expect("join");
        ok += o;
        errors += e;
        lat.extend(l);
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| -> u32 {
        if lat.is_empty() {
            0
        } else {
            lat[((lat.len() - 1) as f64 * p).round() as usize]
        }
    };
    println!(
        "{{\"connections\":{conns},\"seconds\":{elapsed:.3},\"requests\":{ok},\"errors\":{errors},\"rps\":{:.0},\"p50_us\":{},\"p99_us\":{}}}",
        ok as f64 / elapsed,
        pct(0.5),
        pct(0.99)
    );
}
