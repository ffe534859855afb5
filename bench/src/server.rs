//! The host end of the net rows: a TCP server on 127.0.0.1 (an ephemeral
//! port) that `bench/programs/netclient.c` dials, natively and from both
//! guests. Each connection starts with a mode byte and a little-endian u64:
//! `P` echoes every byte back, `S` reads to EOF and answers with the count it
//! read, `R` writes that many bytes. Traffic stays on this machine's loopback.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::thread;

/// The size of the server's reads and writes.
const CHUNK_BYTES: usize = 64 * 1024;

/// Starts the server on a thread of its own (it lives as long as the bench)
/// and returns its port.
pub fn start() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let port = listener.local_addr()?.port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                // A client cut short (a run past its bound, `recv` stopping
                // early) ends its connection with an error: nothing to do.
                let _ = serve(stream);
            });
        }
    });
    Ok(port)
}

fn serve(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut header = [0u8; 9];
    stream.read_exact(&mut header)?;
    let value = u64::from_le_bytes(header[1..].try_into().expect("8 bytes"));
    let mut buffer = vec![0u8; CHUNK_BYTES];
    match header[0] {
        b'P' => loop {
            let n = stream.read(&mut buffer)?;
            if n == 0 {
                return Ok(());
            }
            stream.write_all(&buffer[..n])?;
        },
        b'S' => {
            let mut count = 0u64;
            loop {
                let n = stream.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                count += n as u64;
            }
            stream.write_all(&count.to_le_bytes())
        }
        b'R' => {
            let mut left = value;
            while left > 0 {
                let n = left.min(CHUNK_BYTES as u64) as usize;
                stream.write_all(&buffer[..n])?;
                left -= n as u64;
            }
            Ok(())
        }
        _ => Err(io::Error::new(io::ErrorKind::InvalidData, "unknown mode")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(port: u16, mode: u8, value: u64) -> TcpStream {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        let mut header = vec![mode];
        header.extend(value.to_le_bytes());
        stream.write_all(&header).unwrap();
        stream
    }

    #[test]
    fn echo_sink_and_source() {
        let port = start().unwrap();

        let mut echo = connect(port, b'P', 0);
        echo.write_all(b"x").unwrap();
        let mut byte = [0u8];
        echo.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"x");

        let mut sink = connect(port, b'S', 0);
        sink.write_all(&[7u8; 100_000]).unwrap();
        sink.shutdown(std::net::Shutdown::Write).unwrap();
        let mut count = [0u8; 8];
        sink.read_exact(&mut count).unwrap();
        assert_eq!(u64::from_le_bytes(count), 100_000);

        let mut source = connect(port, b'R', 200_000);
        let mut got = Vec::new();
        source.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), 200_000);
    }
}
