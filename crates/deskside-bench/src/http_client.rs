//! A minimal HTTP/1.1 keep-alive client.
//!
//! The load generator shares two cores with the server it measures, so every cycle it
//! burns is taken from the server. Requests are therefore encoded once up front, and a
//! response is parsed in place in a buffer that is reused for the life of the connection.
//! No pipelining: one request in flight per connection, like a browser or `wrk`.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Larger heads mean a confused peer, not a real response.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// A page of 50 tickets is far below this; the cap stops a runaway peer from eating RAM.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Encodes a complete request once, so the hot loop only writes bytes.
pub fn encode_request(
    method: &str,
    address: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method != "GET" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

pub struct Response<'a> {
    pub status: u16,
    pub body: &'a [u8],
}

pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
    filled: usize,
    /// Bytes of the previous response still at the front of `buffer`; dropped on the next
    /// send, because the returned `Response` borrows them until then.
    consumed: usize,
    /// Chunked bodies are decoded here; fixed-length ones are borrowed from `buffer`.
    decoded_body: Vec<u8>,
    peer_will_close: bool,
}

enum BodyFraming {
    Length(usize),
    Chunked,
}

struct Head {
    status: u16,
    length: usize,
    framing: BodyFraming,
    close: bool,
}

impl Connection {
    pub async fn open(address: SocketAddr) -> io::Result<Connection> {
        Connection::from_stream(TcpStream::connect(address).await?)
    }

    /// Opens a connection from a chosen local address, e.g. one of 127.0.0.2–127.0.0.9, so
    /// that tens of thousands of connections to one server do not run out of source ports.
    pub async fn open_from(source: IpAddr, address: SocketAddr) -> io::Result<Connection> {
        let socket = match source {
            IpAddr::V4(_) => TcpSocket::new_v4()?,
            IpAddr::V6(_) => TcpSocket::new_v6()?,
        };
        socket.bind(SocketAddr::new(source, 0))?;
        Connection::from_stream(socket.connect(address).await?)
    }

    fn from_stream(stream: TcpStream) -> io::Result<Connection> {
        // Requests are small and written in one call; Nagle would only add delay.
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buffer: vec![0; 16 * 1024],
            filled: 0,
            consumed: 0,
            decoded_body: Vec::new(),
            peer_will_close: false,
        })
    }

    /// True once the server said `Connection: close`: open a new connection to go on.
    pub fn is_closing(&self) -> bool {
        self.peer_will_close
    }

    /// Writes a request and reads its response.
    pub async fn send(&mut self, request: &[u8]) -> io::Result<Response<'_>> {
        self.write_request(request).await?;
        self.read_response().await
    }

    /// Writes a request without waiting for the answer: a long-poll is in flight once this
    /// returns. Follow it with [`Connection::read_response`].
    pub async fn write_request(&mut self, request: &[u8]) -> io::Result<()> {
        if self.peer_will_close {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the server closed this connection",
            ));
        }
        self.stream.write_all(request).await
    }

    /// Reads the response to the request written last.
    pub async fn read_response(&mut self) -> io::Result<Response<'_>> {
        self.buffer.copy_within(self.consumed..self.filled, 0);
        self.filled -= self.consumed;
        self.consumed = 0;

        loop {
            if let Some(head) = parse_head(&self.buffer[..self.filled])? {
                let available = &self.buffer[head.length..self.filled];
                let body_end = match head.framing {
                    BodyFraming::Length(length) if available.len() >= length => {
                        Some((head.length, head.length + length, false))
                    }
                    BodyFraming::Length(_) => None,
                    BodyFraming::Chunked => decode_chunked(available, &mut self.decoded_body)?
                        .map(|used| (head.length, head.length + used, true)),
                };
                if let Some((body_start, end, chunked)) = body_end {
                    self.consumed = end;
                    self.peer_will_close = head.close;
                    let body = if chunked {
                        &self.decoded_body[..]
                    } else {
                        &self.buffer[body_start..end]
                    };
                    return Ok(Response {
                        status: head.status,
                        body,
                    });
                }
                if let BodyFraming::Length(length) = head.framing
                    && length > MAX_BODY_BYTES
                {
                    return Err(invalid(format!("response body of {length} bytes")));
                }
            } else if self.filled > MAX_HEAD_BYTES {
                return Err(invalid("response head over 64 KiB".to_owned()));
            }
            self.read_more().await?;
        }
    }

    async fn read_more(&mut self) -> io::Result<()> {
        if self.filled == self.buffer.len() {
            if self.buffer.len() >= MAX_BODY_BYTES + MAX_HEAD_BYTES {
                return Err(invalid("response larger than 64 MiB".to_owned()));
            }
            self.buffer.resize(self.buffer.len() * 2, 0);
        }
        let read = self.stream.read(&mut self.buffer[self.filled..]).await?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection before a full response",
            ));
        }
        self.filled += read;
        Ok(())
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// `Ok(None)` while the head is still incomplete.
fn parse_head(data: &[u8]) -> io::Result<Option<Head>> {
    let Some(end) = data.windows(4).position(|window| window == b"\r\n\r\n") else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&data[..end])
        .map_err(|_| invalid("response head is not UTF-8".to_owned()))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;

    let mut framing = BodyFraming::Length(0);
    let mut close = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let length = value
                .parse()
                .map_err(|_| invalid(format!("bad Content-Length {value:?}")))?;
            framing = BodyFraming::Length(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && value.eq_ignore_ascii_case("chunked")
        {
            framing = BodyFraming::Chunked;
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            close = true;
        }
    }
    Ok(Some(Head {
        status,
        length: end + 4,
        framing,
        close,
    }))
}

/// Decodes a chunked body into `out`; returns the bytes it spans, or `None` if incomplete.
fn decode_chunked(data: &[u8], out: &mut Vec<u8>) -> io::Result<Option<usize>> {
    out.clear();
    let mut position = 0;
    loop {
        let Some(line_length) = find_line_end(&data[position..]) else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&data[position..position + line_length])
            .ok()
            .and_then(|line| line.split(';').next())
            .map(str::trim)
            .unwrap_or_default();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| invalid(format!("bad chunk size {size_text:?}")))?;
        position += line_length + 2;
        if size == 0 {
            // Skip trailers up to the empty line that ends the message.
            loop {
                let Some(trailer_length) = find_line_end(&data[position..]) else {
                    return Ok(None);
                };
                position += trailer_length + 2;
                if trailer_length == 0 {
                    return Ok(Some(position));
                }
            }
        }
        if out.len() + size > MAX_BODY_BYTES {
            return Err(invalid("chunked body over 64 MiB".to_owned()));
        }
        if data.len() < position + size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&data[position..position + size]);
        position += size + 2;
    }
}

fn find_line_end(data: &[u8]) -> Option<usize> {
    data.windows(2).position(|window| window == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_with_content_length() {
        let head = parse_head(b"HTTP/1.1 201 Created\r\ncontent-length: 12\r\n\r\n{\"id\":1}")
            .unwrap()
            .unwrap();
        assert_eq!(head.status, 201);
        assert!(matches!(head.framing, BodyFraming::Length(12)));
        assert!(!head.close);
    }

    #[test]
    fn incomplete_head_waits_for_more() {
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Le")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn chunked_body_is_decoded_and_spanned() {
        let data = b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\nNEXT";
        let mut out = Vec::new();
        let used = decode_chunked(data, &mut out).unwrap().unwrap();
        assert_eq!(out, b"Wikipedia");
        assert_eq!(&data[used..], b"NEXT");
    }

    #[test]
    fn partial_chunked_body_is_incomplete() {
        let mut out = Vec::new();
        assert!(decode_chunked(b"4\r\nWi", &mut out).unwrap().is_none());
    }

    #[test]
    fn get_without_body_has_no_content_length() {
        let address: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let request = encode_request("GET", address, "/x", &[("A", "b")], b"");
        assert_eq!(
            request,
            b"GET /x HTTP/1.1\r\nHost: 127.0.0.1:80\r\nA: b\r\n\r\n".to_vec()
        );
    }
}
