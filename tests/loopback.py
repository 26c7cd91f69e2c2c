"""What every loopback test server needs: a free port, a self-signed certificate, and for
the small HTTPS JSON fakes (Microsoft login, Salesforce, HubSpot) a server that answers on
its own thread with a quiet JSON request handler.

Imported as `tests.loopback` by the fake servers (Google, Microsoft login, Salesforce,
HubSpot), the SMTP, IMAP (Dovecot) and Redis test servers, and by the bench scripts that
start the fake Google server.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A port that was free a moment ago (bind to port 0, read it, release it): servers
    that cannot be told to listen on port 0 and report the port get one from here."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, written to `folder` (cert
    file, key file; PEM, the key unencrypted).

    Its validity is fixed (2000 to 2099), not taken from the clock: a server fixture may be
    built while a test has travelled to the pinned instant, but TLS checks dates against the
    real clock, so "from now for 30 days" would expire a month after the pinned day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2099, 12, 31, tzinfo=dt.UTC))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert, keyfile = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, keyfile


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers JSON; a fake's handler subclasses it
    and routes `do_GET`/`do_POST` to its fake."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def body(self) -> bytes:
        """The request body (empty when there is no Content-Length)."""
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """Answer `status` with `body` as JSON, plus any extra `headers`."""
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def serve_https(
    handler: type[BaseHTTPRequestHandler], cert: tuple[Path, Path]
) -> ThreadingHTTPServer:
    """Serve `handler` over TLS (`cert` from make_cert) on a free loopback port, on a daemon
    thread; the caller stops it with `stop()`. The port is `server.server_address[1]`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop(server: ThreadingHTTPServer) -> None:
    """Stop a server started by serve_https and close its socket."""
    server.shutdown()
    server.server_close()
