"""A container engine for `sam local invoke` on a machine with no Docker engine: Debian's podman.

What this sets up, and why (each was needed on this kind of machine):
- `podman system service` serves the Docker API on a socket of our own; SAM finds it by
  DOCKER_HOST.
- runc, not crun: crun 1.8 refuses this VM's hybrid cgroups.
- default ulimits that need no CAP_SYS_RESOURCE: podman's own fail with "setrlimit ... Operation
  not permitted" here.
- a bridge network of our own, with a fixed subnet, as the engine's default network (SAM starts
  its containers on the default one). Its gateway address is how a container reaches this
  machine, and the only address it may reach: forwarding out of the subnet is dropped.
- the Lambda base image cannot be pulled here: `dev/lambda-image/build.sh` builds a stand-in
  (Debian, not Amazon Linux; see that script), once per machine.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from intake_dev.template import REPO_ROOT

IMAGE = "localhost/tracker-intake/lambda-python:3.12"
NETWORK = "intake-samcheck"
SUBNET = ipaddress.IPv4Network("10.213.77.0/24")
GATEWAY = str(SUBNET.network_address + 1)
BUILD_SCRIPT = REPO_ROOT / "dev" / "lambda-image" / "build.sh"
RULE = ["FORWARD", "-s", str(SUBNET), "-m", "comment", "--comment", NETWORK, "-j", "DROP"]


@dataclass
class Engine:
    env: dict[str, str]  # DOCKER_HOST and CONTAINERS_CONF, for podman and for SAM
    gateway: str
    image: str


def missing_tools() -> list[str]:
    return [tool for tool in ("podman", "runc", "debootstrap", "iptables") if shutil.which(tool) is None]


def _conf(folder: Path) -> Path:
    networks = folder / "networks"
    networks.mkdir(parents=True)
    (networks / f"{NETWORK}.json").write_text(
        json.dumps(
            {
                "name": NETWORK,
                "id": "1e7a3c0ffee0" * 5 + "1e7a",
                "driver": "bridge",
                "network_interface": "intake0",
                "created": "2026-11-29T00:00:00Z",
                "subnets": [{"subnet": str(SUBNET), "gateway": GATEWAY}],
                "ipv6_enabled": False,
                # Not `internal`: podman then publishes no ports, and SAM calls the function
                # through a published port. Forwarding out of the subnet is dropped instead.
                "internal": False,
                "dns_enabled": False,
                "ipam_options": {"driver": "host-local"},
            }
        )
    )
    conf = folder / "containers.conf"
    conf.write_text(
        "[containers]\n"
        'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
        "[engine]\n"
        'runtime = "runc"\n'
        "[network]\n"
        f'default_network = "{NETWORK}"\n'
        f'network_config_dir = "{networks}"\n'
    )
    return conf


def _subnet_is_free() -> str | None:
    """None, or the address of this machine that already lies in SUBNET."""
    shown = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True).stdout
    for line in shown.splitlines():
        address = ipaddress.IPv4Interface(line.split()[3]).ip
        if address in SUBNET and not line.split()[1].startswith("intake0"):
            return str(address)
    return None


def _wait_for_socket(socket: Path, service: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while not socket.exists():
        assert service.poll() is None, f"podman system service stopped: {log.read_text()}"
        assert time.monotonic() < deadline, f"podman's socket never appeared: {log.read_text()}"
        time.sleep(0.1)


def ensure_image(env: dict[str, str], python312: Path, work: Path) -> None:
    """Builds the stand-in base image unless the engine has it already."""
    if subprocess.run(["podman", "image", "exists", IMAGE], env=env).returncode == 0:
        return
    subprocess.run(["bash", str(BUILD_SCRIPT), IMAGE, str(python312), str(work)], env=env, check=True)


@contextlib.contextmanager
def podman_engine(folder: Path, python312: Path) -> Iterator[Engine]:
    taken = _subnet_is_free()
    assert taken is None, f"{SUBNET} is in use on this machine ({taken}): the check needs it for its bridge"
    env = {**os.environ, "CONTAINERS_CONF": str(_conf(folder))}
    ensure_image(env, python312, folder / "image")
    socket = folder / "podman.sock"
    log = folder / "podman-service.log"
    with log.open("wb") as out:
        service = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{socket}"], env=env, stdout=out, stderr=out
        )
    subprocess.run(["iptables", "-I", *RULE], check=True)
    try:
        _wait_for_socket(socket, service, log)
        yield Engine(env={**env, "DOCKER_HOST": f"unix://{socket}"}, gateway=GATEWAY, image=IMAGE)
    finally:
        subprocess.run(["iptables", "-D", *RULE], check=False)
        service.terminate()
        service.wait(timeout=30)
