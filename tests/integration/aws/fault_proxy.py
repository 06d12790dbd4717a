"""A fault-injecting HTTP proxy on 127.0.0.1 for the S3 tests: it forwards each request to the real server
(moto) unchanged — the Host header too, so signatures still verify — and, for requests a rule selects, breaks
the exchange the way networks and S3 do:
  reset     close the connection with a TCP RST instead of answering (the request may or may not have
            reached the server: here it has not)
  500       answer 500 InternalError without forwarding
  503       answer 503 SlowDown (S3's throttling) without forwarding
  stall     forward, send the response headers and half the body, then hang for `stall_s` seconds
  corrupt   forward with one byte of the request body flipped (uploads) or of the response body (downloads)
Rules: [(kind, probability, predicate(method, path, query))]; decisions come from a seeded RNG.
Counts of what was injected are in .injected.
"""
import http.client
import http.server
import random
import socket
import struct
import threading
import time
from urllib.parse import urlsplit


class FaultProxy:
    def __init__(self, upstream, rules, seed=1, stall_s=20):
        self.upstream = urlsplit(upstream)
        self.rules = rules
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.stall_s = stall_s
        self.injected = {}
        self.requests = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                kind = proxy.decide(self.command, parts.path, parts.query)
                if kind == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                if kind in ("500", "503"):
                    code, err = (500, "InternalError") if kind == "500" else (503, "SlowDown")
                    doc = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{err}</Code>"
                           f"<Message>injected by fault_proxy</Message></Error>").encode()
                    self.send_response(code)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(doc)))
                    self.end_headers()
                    self.wfile.write(doc)
                    return
                if kind == "corrupt" and body:
                    i = proxy.rng_int(len(body))
                    body = body[:i] + bytes([body[i] ^ 0x5A]) + body[i + 1:]
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=300)
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    conn.putheader(name, value)
                conn.endheaders(body if body else None)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                if kind == "corrupt" and not body and data and resp.status // 100 == 2:
                    i = proxy.rng_int(len(data))
                    data = data[:i] + bytes([data[i] ^ 0x5A]) + data[i + 1:]
                self.send_response(resp.status)
                for name, value in resp.getheaders():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "date",
                                            "server"):
                        self.send_header(name, value)
                # HEAD: the object's length, as the server said; otherwise the length of what we send
                length = resp.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data))
                self.send_header("Content-Length", length)
                self.end_headers()
                if kind == "stall" and self.command != "HEAD":
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    time.sleep(proxy.stall_s)
                    self.close_connection = True
                    return
                if self.command != "HEAD":
                    self.wfile.write(data)

            def do_GET(self):
                self.handle_one()

            do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def rng_int(self, n):
        with self.lock:
            return self.rng.randrange(n)

    def decide(self, method, path, query):
        with self.lock:
            self.requests += 1
            for kind, p, pred in self.rules:
                if pred(method, path, query) and self.rng.random() < p:
                    self.injected[kind] = self.injected.get(kind, 0) + 1
                    return kind
        return None

    def close(self):
        self.server.shutdown()
        self.server.server_close()
