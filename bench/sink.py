#!/usr/bin/env python3
"""
bench/sink.py PORT: where the upstream nginx sends the bodies of the
upload benchmark (POST /repos/acme/widgets/git/blobs), since nginx
itself answers a `return` before it has read the body.

It reads each request's body whole (Content-Length or chunked), keeps
none of it, and only then answers 201 with a blob object shaped like
GitHub's, whose "size" is the number of body bytes it read, so that the
benchmark can check that every byte arrived.  HTTP/1.1 keep-alive, one
thread per connection, 127.0.0.1 only.  Python 3 standard library.
"""

import hashlib
import json
import socket
import socketserver
import sys

BUF = 1 << 20


class Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.scratch = memoryview(bytearray(BUF))
        self.data, self.pos = b"", 0        # read, not yet consumed

    def line(self, limit=65536):
        while True:
            i = self.data.find(b"\r\n", self.pos)
            if i >= 0:
                line, self.pos = self.data[self.pos:i], i + 2
                return line
            if len(self.data) - self.pos > limit:
                raise ValueError("line too long")
            more = self.request.recv(65536)
            if not more:
                raise EOFError
            self.data, self.pos = self.data[self.pos:] + more, 0

    def discard(self, n):
        """Read and drop n bytes."""
        take = min(n, len(self.data) - self.pos)
        self.pos += take
        n -= take
        while n > 0:
            got = self.request.recv_into(self.scratch[:min(n, BUF)])
            if got == 0:
                raise EOFError
            n -= got

    def handle(self):
        try:
            while self.one():
                pass
        except (EOFError, ConnectionError, ValueError):
            pass

    def one(self):
        request = self.line()
        headers = {}
        while True:
            h = self.line()
            if not h:
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        size = 0
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                n = int(self.line().split(b";")[0], 16)
                if n == 0:
                    while self.line():      # trailers
                        pass
                    break
                self.discard(n)
                size += n
                if self.line():
                    raise ValueError("bad chunk end")
        else:
            size = int(headers.get("content-length", "0"))
            self.discard(size)
        sha = hashlib.sha1(b"blob %d\0" % size).hexdigest()
        body = json.dumps({
            "sha": sha, "size": size,
            "url": "https://api.github.com/repos/acme/widgets/git/blobs/"
                   + sha}).encode()
        close = (headers.get("connection", "").lower() == "close" or
                 request.endswith(b"HTTP/1.0"))
        self.request.sendall(
            b"HTTP/1.1 201 Created\r\nContent-Type: application/json; "
            b"charset=utf-8\r\nContent-Length: %d\r\n%s\r\n%s" % (
                len(body), b"Connection: close\r\n" if close else b"",
                body))
        return not close


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    srv = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    srv.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    srv.serve_forever()


if __name__ == "__main__":
    main()
