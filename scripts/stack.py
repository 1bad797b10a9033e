#!/usr/bin/env python3
"""Run the whole s3gate demo stack: an S3 upstream (rclone, or s3s-fs), the policy service,
and Envoy with the s3gate filter. Used by `make run` (foreground until Ctrl-C) and by the e2e
test fixtures.

Every child runs in its own process group and is stopped with SIGTERM, then SIGKILL; on Linux
each child also gets SIGTERM if this process dies first, so nothing is ever left running.

Usage: stack.py [--data DIR] [--run-dir DIR] [--upstream-store rclone|s3s-fs]
Upstream store: S3GATE_UPSTREAM_STORE (`rclone`, the default: `rclone serve s3`; `s3s-fs`: the
       crates.io s3s-fs server, built by `make s3s-fs` into S3S_FS_BIN, or S3GATE_S3S_FS_BIN). Both
       serve each top-level folder of the data as a bucket and check SigV4.
Ports: S3GATE_PORT (10000, the gateway under /s3p), S3GATE_ROOT_PORT (10010, the same gateway
       at the root of the port), S3GATE_ADMIN_PORT (9901), S3GATE_POLICY_PORT (8181, the policy
       service; its second replica on S3GATE_POLICY_PORT_2, 8182; their metrics on
       S3GATE_POLICY_METRICS_PORT, 8191, and S3GATE_POLICY_METRICS_PORT_2, 8192),
       S3GATE_UPSTREAM_PORT (9000). A second Envoy, when asked for (Stack(envoys=2): the tests
       of two gateways sharing the policy service and upstream), takes free ports of its own.
       Upstream credentials: S3GATE_UPSTREAM_ACCESS_KEY_ID,
       S3GATE_UPSTREAM_SECRET_ACCESS_KEY. Binaries: S3GATE_WASM, S3GATE_POLICY_BIN.
Mask secret (keys the hash and format_preserving masks): S3GATE_MASK_SECRET, default the
       public DEMO_MASK_SECRET below (demo only: anyone can recompute the demo's hashes).
"""

import argparse
import ctypes
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_demo_data  # noqa: E402
import render_envoy  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin: envoy and rclone live there
DEFAULT_WASM = REPO / "target/wasm32-wasip1/release/s3gate.wasm"
DEFAULT_POLICY_BIN = REPO / "target/release/s3gate-policy"
DEFAULT_CREDENTIALS = ("s3gate-upstream", "s3gate-upstream-secret")
# Where `make s3s-fs` installs s3s-fs (the Makefile's S3S_FS; keep the version in step).
S3S_FS_BIN = REPO / "target/tools/s3s-fs-0.14.1/bin/s3s-fs"
UPSTREAM_STORES = ("rclone", "s3s-fs")
START_TIMEOUT = 30.0
# The demo's mask secret, public like the demo keys: never use it outside the demo.
DEMO_MASK_SECRET = "s3gate-DEMO-ONLY-mask-secret-not-for-production"


def free_ports(count):
    """Distinct free loopback ports (all sockets held open until every port is chosen)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def die_with_parent():
    # Runs in the child before exec: SIGTERM it when the process that started it dies.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Child:
    """One child process in its own process group, its output in a log file."""

    def __init__(self, name, argv, log, env=None):
        self.name, self.argv, self.log, self.env = name, argv, Path(log), env
        self.proc = None

    def start(self):
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, env=self.env,
                                         cwd=REPO, start_new_session=True,
                                         preexec_fn=die_with_parent)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.running():
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, deadline):
        """Wait until the deadline; True if the whole process group is gone."""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None and not _group_alive(self.proc.pid):
                return True
            time.sleep(0.05)
        return False



def log_tail(path, lines=30):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Stack:
    """rclone + policy service + Envoy on the given (or free) loopback ports."""

    def __init__(self, data_dir, run_dir, port=None, admin_port=None, policy_port=None,
                 upstream_port=None, plugin_overrides=None, wasm=None, policy_bin=None,
                 credentials=None, policies=REPO / "policies", root_port=None,
                 upstream_signing=None, gateway_credentials=None, upstream_store=None,
                 gateway_policy_token=None, regions=None, mask_secret=None,
                 policy_port_2=None, policy_metrics_port=None, policy_replicas=1,
                 policy_metrics_port_2=None,
                 upstream_dir_cache="1s", envoys=1, envoy_edit=None, policy_args=()):
        picked = iter(free_ports(11))
        self.port = port or next(picked)
        self.root_port = root_port or next(picked)
        self.admin_port = admin_port or next(picked)
        self.policy_port = policy_port or next(picked)
        # How many replicas of the policy service run behind the `policy` cluster (envoy.yaml
        # ships two; `make run` and the high-availability tests run both, other tests one).
        self.policy_replicas = policy_replicas
        # The policy service's second replica, and where the first serves its metrics.
        self.policy_port_2 = policy_port_2 or next(picked)
        self.policy_metrics_port = policy_metrics_port or next(picked)
        self.policy_metrics_port_2 = policy_metrics_port_2 or next(picked)
        # Replicas share the secret of continuation-token keys (a token one minted opens at
        # the other).
        self.token_secret = secrets.token_urlsafe(32)
        self.upstream_port = upstream_port or next(picked)
        # 1, or 2: a second Envoy with the filter (as a second sidecar or gateway pod would be)
        # in front of the same policy service and upstream, with its own VM and caches.
        self.envoys = envoys
        self.port_2, self.root_port_2, self.admin_port_2 = (next(picked) for _ in range(3))
        self.data_dir = Path(data_dir).resolve()
        self.run_dir = Path(run_dir).resolve()
        self.plugin_overrides = plugin_overrides
        # SigV4 regions the gateway accepts: the filter's `regions` and the policy service's
        # S3GATE_REGIONS, set together (None: both defaults, us-east-1).
        self.regions = regions
        if regions is not None:
            self.plugin_overrides = {**(plugin_overrides or {}), "regions": list(regions)}
        # `envoy` or `filter` (render_envoy.py); None: as envoy/envoy.yaml has it.
        self.upstream_signing = upstream_signing or os.environ.get("S3GATE_UPSTREAM_SIGNING")
        self.wasm = Path(wasm or os.environ.get("S3GATE_WASM") or DEFAULT_WASM)
        self.policy_bin = Path(policy_bin or os.environ.get("S3GATE_POLICY_BIN")
                               or DEFAULT_POLICY_BIN)
        self.credentials = credentials or (
            os.environ.get("S3GATE_UPSTREAM_ACCESS_KEY_ID", DEFAULT_CREDENTIALS[0]),
            os.environ.get("S3GATE_UPSTREAM_SECRET_ACCESS_KEY", DEFAULT_CREDENTIALS[1]))
        # What the gateway signs with; tests give it wrong ones to see the store refuse them.
        self.gateway_credentials = gateway_credentials or self.credentials
        # The token the gateway presents to the policy service: S3GATE_POLICY_TOKEN, or a fresh
        # random one per stack (the demo's); tests give the gateway a wrong one.
        self.policy_token = os.environ.get("S3GATE_POLICY_TOKEN") or secrets.token_urlsafe(32)
        self.gateway_policy_token = gateway_policy_token or self.policy_token
        # What keys the masks in Envoy's VM: S3GATE_MASK_SECRET, or the demo's; tests read it to
        # compute the hashes they expect, and give "" to run the gateway without one.
        self.mask_secret = (mask_secret if mask_secret is not None
                            else os.environ.get("S3GATE_MASK_SECRET") or DEMO_MASK_SECRET)
        self.policies = Path(policies)
        # More arguments for every policy-service replica (e.g. `--shadow-policies DIR`).
        self.policy_args = list(policy_args)
        self.upstream_store = (upstream_store or os.environ.get("S3GATE_UPSTREAM_STORE")
                               or "rclone")
        if self.upstream_store not in UPSTREAM_STORES:
            raise RuntimeError(f"unknown upstream store {self.upstream_store!r}; "
                               f"one of {', '.join(UPSTREAM_STORES)}")
        # How long rclone may serve a folder's listing from its cache (rclone duration); a
        # folder of tens of thousands of files wants minutes, so pages don't rescan it.
        self.upstream_dir_cache = upstream_dir_cache
        self.envoy_config = self.run_dir / "envoy.yaml"
        self.envoy_config_2 = self.run_dir / "envoy2.yaml"
        # Called with each rendered Envoy configuration's path before Envoy starts (a test
        # splices in an access-log snippet of envoy/snippets/).
        self.envoy_edit = envoy_edit
        self.children = {}

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}/s3p"

    @property
    def root_endpoint(self):
        """The same gateway at the root of its own port (for clients that take no path)."""
        return f"http://127.0.0.1:{self.root_port}"

    @property
    def admin_url(self):
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def endpoint_2(self):
        """The second Envoy's gateway under /s3p (Stack(envoys=2))."""
        return f"http://127.0.0.1:{self.port_2}/s3p"

    @property
    def admin_url_2(self):
        return f"http://127.0.0.1:{self.admin_port_2}"

    # --- the three parts -------------------------------------------------------------------

    def _upstream(self):
        return self._s3s_fs() if self.upstream_store == "s3s-fs" else self._rclone()

    def _s3s_fs(self):
        ak, sk = self.credentials
        binary = Path(os.environ.get("S3GATE_S3S_FS_BIN") or S3S_FS_BIN)
        return Child("upstream", [
            str(binary), "--host", "127.0.0.1", "--port", str(self.upstream_port),
            "--access-key", ak, "--secret-key", sk,  # refuse anything not signed with these
            str(self.data_dir),
        ], self.run_dir / "s3s-fs.log")

    def _rclone(self):
        ak, sk = self.credentials
        return Child("upstream", [
            str(BIN / "rclone"), "serve", "s3", str(self.data_dir),
            "--addr", f"127.0.0.1:{self.upstream_port}",
            "--auth-key", f"{ak},{sk}",   # refuse anything not SigV4-signed with these
            "--config", os.devnull,       # ignore any rclone.conf of the user
            # Serve names as given: no fixup to a Unicode-equivalent or other-case name, which
            # the gateway's model of store names (core/src/policy/store_names.rs) does not cover.
            "--no-unicode-normalization", "--vfs-case-insensitive=false",
            # New files and folders show within a second: rclone otherwise caches each
            # directory listing for 5 minutes (its local backend cannot be polled for
            # changes), so a folder added under the data stayed invisible, and unreadable, that
            # long. Not 0: then every listing page rescans its whole folder, which a burst of
            # listings of the 3,000-file day folder turns into upstream errors. Object bodies
            # are read straight from disk (the VFS cache, off by default, stays off).
            "--dir-cache-time", self.upstream_dir_cache, "--vfs-cache-mode", "off",
            "--log-level", "INFO",
        ], self.run_dir / "rclone.log")

    def _policy(self, replica=1):
        # The demo principals have no secret of their own: they share the seed's "immuta".
        env = dict(os.environ)
        env.setdefault("S3GATE_DEFAULT_SECRET", "immuta")
        env["S3GATE_POLICY_TOKEN"] = self.policy_token
        env.setdefault("S3GATE_TOKEN_SECRET", self.token_secret)
        if self.regions is not None:
            env["S3GATE_REGIONS"] = ",".join(self.regions)
        argv = [str(self.policy_bin), "--policies", str(self.policies), *self.policy_args]
        if replica == 1:
            argv += ["--listen", f"127.0.0.1:{self.policy_port}",
                     "--metrics-listen", f"127.0.0.1:{self.policy_metrics_port}"]
            return Child("policy", argv, self.run_dir / "policy.log", env=env)
        argv += ["--listen", f"127.0.0.1:{self.policy_port_2}",
                 "--metrics-listen", f"127.0.0.1:{self.policy_metrics_port_2}"]
        return Child("policy2", argv, self.run_dir / "policy2.log", env=env)

    def _envoy(self, n=1):
        # Upstream requests are signed with credentials from Envoy's environment only (the
        # filter gets them through vm_config, Envoy's signing filter reads them); drop any
        # AWS settings of the caller so nothing else is picked up.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = self.gateway_credentials
        env["S3GATE_POLICY_TOKEN"] = self.gateway_policy_token
        env.pop("S3GATE_MASK_SECRET", None)
        if self.mask_secret:
            env["S3GATE_MASK_SECRET"] = self.mask_secret
        name, config, base_id = (("envoy", self.envoy_config, self.port) if n == 1
                                 else ("envoy2", self.envoy_config_2, self.port_2))
        return Child(name, [
            str(BIN / "envoy"), "-c", str(config),
            "--concurrency", "2",
            "--base-id", str(base_id),  # unique per Envoy: hot-restart domains can't clash
            "-l", "info", "--log-path", str(self.run_dir / f"{name}.log"),
        ], self.run_dir / f"{name}-access.log", env=env)

    def _ready(self, name):
        if name == "upstream":
            return port_open(self.upstream_port)
        if name == "policy":
            return http_ok(f"http://127.0.0.1:{self.policy_port}/healthz")
        if name == "policy2":
            return http_ok(f"http://127.0.0.1:{self.policy_port_2}/healthz")
        if name == "envoy2":
            return http_ok(f"{self.admin_url_2}/ready")
        return http_ok(f"{self.admin_url}/ready")

    def _start_child(self, child):
        self.children[child.name] = child
        child.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ready(child.name):
            if not child.running():
                raise RuntimeError(f"{child.name} exited with {child.proc.returncode}; "
                                   f"log {child.log}:\n{self.logs(child)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{child.name} not ready after {START_TIMEOUT}s; "
                                   f"log {child.log}:\n{self.logs(child)}")
            time.sleep(0.05)

    def logs(self, child):
        """The end of a child's logs (Envoy's own log is apart from its access log)."""
        tail = log_tail(child.log)
        if child.name in ("envoy", "envoy2"):
            tail += "\n" + log_tail(self.run_dir / f"{child.name}.log")
        return tail

    def start(self):
        needed = [(self.wasm, "make build"), (self.policy_bin, "make build")]
        if self.upstream_store == "s3s-fs":
            needed.append((Path(os.environ.get("S3GATE_S3S_FS_BIN") or S3S_FS_BIN),
                           "make s3s-fs"))
        for path, what in needed:
            if not path.exists():
                raise RuntimeError(f"{path} is missing: run `{what}` first")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for old in self.run_dir.glob("*.log"):  # each run starts with fresh logs
            old.unlink()
        gen_demo_data.ensure(self.data_dir)
        render_envoy.render(self.envoy_config, self.wasm, self.port, self.admin_port,
                            self.policy_port, self.upstream_port, self.plugin_overrides,
                            root_port=self.root_port, upstream_signing=self.upstream_signing,
                            policy_port_2=self.policy_port_2,
                            policy_replicas=self.policy_replicas)
        if self.envoys == 2:
            render_envoy.render(self.envoy_config_2, self.wasm, self.port_2, self.admin_port_2,
                                self.policy_port, self.upstream_port, self.plugin_overrides,
                                root_port=self.root_port_2,
                                upstream_signing=self.upstream_signing,
                                policy_port_2=self.policy_port_2,
                                policy_replicas=self.policy_replicas)
        if self.envoy_edit is not None:
            for config in [self.envoy_config, self.envoy_config_2][:self.envoys]:
                self.envoy_edit(config)
        try:
            self._start_child(self._upstream())
            self._start_child(self._policy(1))
            if self.policy_replicas == 2:
                self._start_child(self._policy(2))
            self._start_child(self._envoy())
            if self.envoys == 2:
                self._start_child(self._envoy(2))
        except BaseException:
            self.stop()
            raise
        return self

    def stop_policy(self):
        """Stops every replica of the policy service."""
        self._stop([self.children.pop(n) for n in ("policy", "policy2") if n in self.children])

    def start_policy(self):
        self._start_child(self._policy(1))
        if self.policy_replicas == 2:
            self._start_child(self._policy(2))

    def stop_policy_replica(self, replica):
        self._stop([self.children.pop("policy" if replica == 1 else "policy2")])

    def start_policy_replica(self, replica):
        self._start_child(self._policy(replica))

    @property
    def policy_metrics_url(self):
        return f"http://127.0.0.1:{self.policy_metrics_port}/metrics"

    @property
    def policy_metrics_urls(self):
        """Each running replica's metrics."""
        ports = (self.policy_metrics_port, self.policy_metrics_port_2)[:self.policy_replicas]
        return [f"http://127.0.0.1:{p}/metrics" for p in ports]

    def stop_upstream(self):
        self._stop([self.children.pop("upstream")])

    def start_upstream(self):
        self._start_child(self._upstream())

    def stat(self, name, envoy=1):
        """One of Envoy's counters or gauges, from the admin interface (of the second Envoy
        with envoy=2)."""
        admin = self.admin_url if envoy == 1 else self.admin_url_2
        url = f"{admin}/stats?filter=^{re.escape(name)}$"
        with urllib.request.urlopen(url, timeout=5) as resp:
            match = re.search(rf"^{re.escape(name)}: (\d+)$", resp.read().decode(), re.M)
        if not match:
            raise KeyError(f"no Envoy stat {name}")
        return int(match.group(1))

    def stop(self):
        self._stop(list(reversed(self.children.values())))
        self.children.clear()

    @staticmethod
    def _stop(children, grace=5.0):
        for child in children:
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in children:
            if child.proc is not None and not child.wait(deadline):
                child.signal(signal.SIGKILL)
                child.wait(time.monotonic() + grace)

    def dead_child(self):
        """The first child that exited on its own, if any."""
        return next((c for c in self.children.values() if not c.running()), None)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def raise_exit(signum, _frame):
    raise SystemExit(128 + signum)


def main():
    parser = argparse.ArgumentParser(description="Run the s3gate demo stack in the foreground.")
    parser.add_argument("--data", default=REPO / ".demo/data", type=Path)
    parser.add_argument("--run-dir", default=REPO / ".demo/run", type=Path)
    parser.add_argument("--upstream-store", choices=UPSTREAM_STORES, default=None,
                        help="the S3 upstream (default: S3GATE_UPSTREAM_STORE, else rclone)")
    args = parser.parse_args()

    def port(name, default):
        return int(os.environ.get(name, default))

    # SIGINT (Ctrl-C) and SIGTERM unwind through `finally` and stop every child. Set SIGINT
    # explicitly: a shell's background job starts with it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, raise_exit)
    stack = Stack(args.data, args.run_dir, port("S3GATE_PORT", 10000),
                  port("S3GATE_ADMIN_PORT", 9901), port("S3GATE_POLICY_PORT", 8181),
                  port("S3GATE_UPSTREAM_PORT", 9000), root_port=port("S3GATE_ROOT_PORT", 10010),
                  upstream_store=args.upstream_store,
                  policy_port_2=port("S3GATE_POLICY_PORT_2", 8182),
                  policy_metrics_port=port("S3GATE_POLICY_METRICS_PORT", 8191),
                  policy_metrics_port_2=port("S3GATE_POLICY_METRICS_PORT_2", 8192),
                  policy_replicas=2)
    try:
        stack.start()
        print(f"s3gate is up: {stack.endpoint}   (Ctrl-C stops everything)\n"
              f"  the same at the root of a port, for clients that take no path: "
              f"{stack.root_endpoint}\n"
              f"  try: curl -H 'Authorization: AWS alice-demo-key:immuta' {stack.endpoint}\n"
              f"  Envoy admin {stack.admin_url}, policy service "
              f"http://127.0.0.1:{stack.policy_port}, {stack.upstream_store} http://127.0.0.1:"
              f"{stack.upstream_port}\n  logs in {stack.run_dir}", flush=True)
        while (dead := stack.dead_child()) is None:
            time.sleep(0.5)
        print(f"{dead.name} exited with {dead.proc.returncode}; stopping. Log:\n"
              f"{stack.logs(dead)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as err:
        print(f"s3gate failed to start: {err}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C (or a SIGTERM) must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        print("s3gate stopped", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
