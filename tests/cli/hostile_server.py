#!/usr/bin/python3
"""A lying fpga-remote server for tests: a proxy on a loopback port in front
of a real `fpga-remote serve` (UPSTREAM port) that tampers with what passes,
as MODE says. Usage: hostile_server.py PORTFILE UPSTREAM MODE

Writes its port to PORTFILE once it listens. Modes (one lie each):
  honest              pass everything through unchanged
  health-version      /v1/health names another version
  compress-other      compress a byte-flipped copy of the chunk (valid
                      members, right sizes, another chunk's content)
  compress-cut        drop the last byte of a compress answer
  compress-json200    answer a job with 200 and an error JSON
  decompress-flip     flip one byte of a decompress answer (same length)
  decompress-long     append a byte to a decompress answer
  decompress-short    drop the last byte of a decompress answer
  salvage-huge        a 422 with salvage=N larger than the chunk can give
  redirect            answer every job with 307 to UPSTREAM
  half                send half a job's answer, then close
  flaky               every third job: half its answer, then close
  busy                503 with Retry-After: 1 to every job
  slow                hold every job for 30 s before answering
  endless             a job's answer that never ends (chunked, zeros)
  trickle             a job's answer one byte every half second
  infer-count         one class fewer than the images
  infer-class         class numbers past the model's
  infer-scores        scores of the wrong size
  models-shape        /v1/models describes another input shape
  models-classes      /v1/models gives a class name with a newline
  ctype-params        unknown content-type parameters on every answer
  evil-message        a 422 whose message holds terminal escapes and a newline
  bad-escape          a 422 whose message has a broken \\u escape
  warnings            a decompress answer with a warning and trailing garbage
"""
import http.client
import re
import http.server
import socketserver
import sys
import threading
import time
import zlib

portfile, upstream, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
jobs = [0]
lock = threading.Lock()


def forward(method, path, headers, body):
    c = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
    h = {k: v for k, v in headers.items() if k.lower() in ("authorization", "content-type")}
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    out = (r.status, r.getheader("Content-Type", "application/octet-stream"), r.getheader("Retry-After"), data)
    c.close()
    return out


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, status, ctype, body, extra=None):
        # A lying server sends its body's right CRC-32 (the check on the way
        # cannot catch a lie, only damage).
        ctype = re.sub(r"; body-crc=\d+", "; body-crc=%d" % zlib.crc32(body), ctype)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        path = self.path
        job = path.startswith("/v1/gzip/") or path.startswith("/v1/infer")
        if job and mode == "busy":
            return self.answer(503, "application/json", b'{"error":"busy","message":"busy"}', {"Retry-After": "1"})
        if job and mode == "redirect":
            return self.answer(307, "text/plain", b"", {"Location": "http://127.0.0.1:%d%s" % (upstream, path)})
        if job and mode == "slow":
            time.sleep(30)
        if job and mode == "trickle":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(100000):
                    self.wfile.write(b"\0")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
            return
        if job and mode == "endless":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            piece = b"\0" * 65536
            try:
                while True:
                    self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            except OSError:
                return
        if job and mode == "compress-other" and path.startswith("/v1/gzip/compress") and body:
            body = bytes([body[0] ^ 1]) + body[1:]
        if job and mode == "compress-json200":
            return self.answer(200, "application/gzip", b'{"error":"io","message":"disk full"}')
        if job and mode == "evil-message":
            return self.answer(422, "application/json",
                               b'{"error":"corrupt","message":"bad\\u001b]0;owned\\u0007\\nfpga-remote: all fine","damage":1}')
        if job and mode == "bad-escape":
            return self.answer(422, "application/json", b'{"error":"corrupt","message":"x\\uZZZZ","damage":1}')
        status, ctype, retry, data = forward(method, path, self.headers, body)
        if status == 200 and mode == "warnings" and path.startswith("/v1/gzip/decompress"):
            ctype += "; trailing-garbage=1; warning=%1B%5D0%3Bowned%07"
        if path.startswith("/v1/health") and mode == "health-version":
            data = data.replace(b'"version":"', b'"version":"9.')
        if status == 200 and path.startswith("/v1/gzip/compress") and mode == "compress-cut":
            data = data[:-1]
        if status == 200 and path.startswith("/v1/gzip/decompress"):
            if mode == "decompress-flip" and data:
                data = data[:-1] + bytes([data[-1] ^ 0x20])
            if mode == "decompress-long":
                data = data + b"x"
            if mode == "decompress-short" and data:
                data = data[:-1]
            if mode == "salvage-huge":
                status, ctype = 422, "application/json; salvage=%d" % (len(data) + 100)
                data = b'{"error":"corrupt","message":"invalid distance","member":1,"offset":0,"damage":1}' + data + b"y" * 100
        if status == 200 and path.startswith("/v1/infer"):
            if mode == "infer-count":
                data = data[2:]
            if mode == "infer-class":
                data = b"\xff\x00" + data[2:]
            if mode == "infer-scores":
                data = data + b"\0\0\0\0"
        if status == 200 and path.startswith("/v1/models"):
            if mode == "models-shape":
                data = re.sub(rb'"height":(\d+)', lambda m: b'"height":%d' % (int(m.group(1)) + 1), data)
            if mode == "models-classes":
                data = data.replace(b'"classes":["', b'"classes":["x\\n0 y')
        if mode == "ctype-params":
            ctype += "; charset=binary; x-future=1; in-x=3"
        cut = job and mode == "half"
        if job and mode == "flaky":
            with lock:
                jobs[0] += 1
                cut = jobs[0] % 3 == 0
        if cut and len(data) > 1:
            sys.stderr.write("cut %s\n" % path.split("?")[0])
            sys.stderr.flush()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.answer(status, ctype, data, {"Retry-After": retry} if retry else None)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = S(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os

os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
