#!/usr/bin/python3
"""A real SMTP server for the tests and the demo: aiosmtpd (Debian's python3-aiosmtpd),
saving every message it accepts to a directory as <n>.eml plus <n>.json (envelope, and
whether the session used STARTTLS and AUTH).

    /usr/bin/python3 scripts/lib/smtp_sink.py --dir DIR [--port N] [--starttls] [--auth USER:PASSWORD]

Prints "port N" once it accepts connections (and writes N to DIR/port, for callers that
must not block on a pipe); serves until stdin closes or SIGTERM.
--starttls offers STARTTLS with a throwaway self-signed certificate (openssl) and requires it;
--auth requires AUTH (PLAIN or LOGIN) with these credentials, over TLS when --starttls is set.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Save:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        base = os.path.join(self.directory, str(n))
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "tls": session.ssl is not None, "authenticated": bool(session.authenticated)}, f)
        # The .eml appears last and whole: a reader never sees half a message.
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 Message accepted for delivery"


class Credentials:
    def __init__(self, user, password):
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == self.user and auth_data.password == self.password
        return AuthResult(success=ok, handled=False)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--auth")
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    params = {}
    if a.starttls:
        tmp = tempfile.mkdtemp()
        key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        params.update(tls_context=ctx, require_starttls=True)
    if a.auth:
        user, _, password = a.auth.partition(":")
        params.update(authenticator=Credentials(user, password), auth_required=True, auth_require_tls=a.starttls)
    # Controller.start waits for the server thread and a test connection, 5 s by default: on a
    # loaded machine (a CI runner compiling) that ran out and the sink died before writing its port.
    # Wait up to a minute, and take another free port if the one picked was taken meanwhile.
    for attempt in range(3):
        port = a.port or free_port()
        controller = Controller(Save(a.dir), hostname="127.0.0.1", port=port, ready_timeout=60, **params)
        try:
            controller.start()
            break
        except OSError as e:
            print(f"smtp sink: port {port}: {e}", file=sys.stderr, flush=True)
            if a.port or attempt == 2:
                raise
    with open(os.path.join(a.dir, "port.tmp"), "w") as f:
        f.write(str(port))
    os.rename(os.path.join(a.dir, "port.tmp"), os.path.join(a.dir, "port"))
    print(f"port {port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
