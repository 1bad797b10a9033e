"""A throwaway certificate authority and a server certificate signed by it, made with the
`openssl` command at test time (nothing secret is checked in): for the TLS listener of
envoy/envoy-production.yaml and the clients that must trust it (`verify=` the CA)."""

import subprocess
from pathlib import Path

# The names the production template serves, plus loopback for the tests.
SERVER_NAMES = ["s3.example.com", "*.s3.example.com", "localhost"]
SERVER_IPS = ["127.0.0.1"]


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory):
    """Writes ca.crt, tls.crt and tls.key (the names the production template mounts) into
    `directory`; returns it."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=s3gate test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=s3.example.com", cwd=d)
    names = ",".join([f"DNS:{n}" for n in SERVER_NAMES] + [f"IP:{ip}" for ip in SERVER_IPS])
    (d / "server.ext").write_text(
        f"subjectAltName={names}\nextendedKeyUsage=serverAuth\n"
        "keyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n")
    _openssl("x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "tls.crt", "-days", "2", "-extfile", "server.ext", cwd=d)
    return d
