"""A real Dovecot IMAP server on loopback for the tests, started from a temporary folder.

Dovecot comes from Debian's `dovecot-imapd` (installed by .ci/run); the tests that need it
are skipped when /usr/sbin/dovecot is absent. The server listens with TLS only (a
self-signed certificate made here), authenticates one user by password (passwd-file) or by
an OAuth 2 bearer token (XOAUTH2, checked against a token-info endpoint this module serves
on loopback), and stores mail in Maildirs under the folder.
"""

from __future__ import annotations

import grp
import http.server
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tests.loopback import free_port, make_cert

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "coachd@acme.com"
PASSWORD = "imap-test-secret"
TOKEN = "ya29.test-access-token"


def available() -> bool:
    return os.path.exists(DOVECOT) and os.access(DOVECOT, os.X_OK)


class _TokenInfo(http.server.BaseHTTPRequestHandler):
    """OAuth 2 token info: `GET /tokeninfo?access_token=T` -> {"email": USER} for TOKEN."""

    def do_GET(self) -> None:
        token = parse_qs(urlparse(self.path).query).get("access_token", [""])[0]
        if token == TOKEN:
            body, code = json.dumps({"email": USER, "active": True}).encode(), 200
        else:
            body, code = b'{"error": "invalid_token"}', 401
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Dovecot:
    port: int
    cafile: Path
    folder: Path

    def log(self) -> str:
        out = []
        for name in ("dovecot.log", "dovecot.info.log"):
            p = self.folder / name
            if p.exists():
                out.append(p.read_text(errors="replace"))
        return "\n".join(out)


def _ids() -> tuple[str, str, int, int]:
    """(internal user, login user, mail uid, mail gid): Debian's dovecot users when root."""
    if os.geteuid() == 0:
        internal = pwd.getpwnam("dovecot")
        login = pwd.getpwnam("dovenull")
        return internal.pw_name, login.pw_name, internal.pw_uid, internal.pw_gid
    me = pwd.getpwuid(os.getuid())
    return me.pw_name, me.pw_name, me.pw_uid, me.pw_gid


@contextmanager
def running() -> Iterator[Dovecot]:
    """Start Dovecot (TLS on a free loopback port); stop it and remove its folder after."""
    folder = Path(tempfile.mkdtemp(prefix="coachd-dovecot-"))
    folder.chmod(0o755)  # the mail user must reach its Maildir below
    token_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TokenInfo)
    threading.Thread(target=token_server.serve_forever, daemon=True).start()
    proc: subprocess.Popen[bytes] | None = None
    try:
        cert, key = make_cert(folder)
        internal, login, uid, gid = _ids()
        group = grp.getgrgid(gid).gr_name
        for sub in ("run", "state", "mail"):
            (folder / sub).mkdir()
        os.chown(folder / "mail", uid, gid)
        (folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        (folder / "oauth2.conf.ext").write_text(
            f"tokeninfo_url = http://127.0.0.1:{token_server.server_address[1]}"
            "/tokeninfo?access_token=\n"
            "username_attribute = email\n"
        )
        port = free_port()
        conf = folder / "dovecot.conf"
        conf.write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
info_log_path = {folder}/dovecot.info.log
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain login xoauth2
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = {uid}
last_valid_uid = 0
first_valid_gid = {gid}
mail_location = maildir:{folder}/mail/%u
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2
  args = {folder}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  user = {"root" if os.geteuid() == 0 else internal}
}}
"""
        )
        proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        server = Dovecot(port=port, cafile=cert, folder=folder)
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"dovecot exited: {err}\n{server.log()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dovecot did not listen:\n{server.log()}") from None
                time.sleep(0.05)
        yield server
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stderr:
                proc.stderr.close()
        token_server.shutdown()
        token_server.server_close()
        shutil.rmtree(folder, ignore_errors=True)
