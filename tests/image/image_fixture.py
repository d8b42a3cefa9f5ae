"""Shared pieces of the image and boot tests: the annex-image CLI, a signing
key, image builds into a scratch directory under build/, and qemu.

Boot tests run qemu with software emulation (TCG) by default, because CI
machines have no KVM; ANNEX_QEMU_ACCEL=kvm:tcg speeds them up where /dev/kvm
works. Debian packages for images are cached in build/image-cache (or
$ANNEX_IMAGE_CACHE), so only the first build downloads them.
"""

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("ANNEX_BUILD_DIR", REPO / "build"))
ANNEX_IMAGE = os.environ.get("ANNEX_IMAGE", str(BUILD / "bin" / "annex-image"))
CACHE = os.environ.get("ANNEX_IMAGE_CACHE", str(BUILD / "image-cache"))
QEMU = "/usr/bin/qemu-system-x86_64"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
ACCEL = os.environ.get("ANNEX_QEMU_ACCEL", "tcg")
IMAGE_SIZE = "768M"
ESP_OFFSET = 1 << 20

ROOT_KEY = "AKIAIMAGETEST0000001"
ROOT_SECRET = "imagetestsecret-imagetestsecret-0123456789"


def sha256_file(path, offset=0, size=None):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(offset)
        left = size if size is not None else os.path.getsize(path) - offset
        while left > 0:
            chunk = f.read(min(left, 4 << 20))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Workspace:
    """A scratch directory with a signing key; builds images into it."""

    def __init__(self):
        BUILD.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="image-test-", dir=BUILD))
        self.keys = self.dir / "keys"
        self.run("keygen", "--out", str(self.keys))

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, *args, check=True, timeout=600):
        p = subprocess.run([ANNEX_IMAGE, *args], capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"annex-image {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p

    def write_config(self, name="firstboot.conf", **extra):
        conf = {
            "hostname": "annex-test",
            "site": "lab-1",
            "root_access_key_id": ROOT_KEY,
            "root_secret_access_key": ROOT_SECRET,
            "health_timeout": "30",
            "console_shell": "yes",
        }
        conf.update(extra)
        path = self.dir / name
        path.write_text("# written by the boot test\n" + "".join(f"{k}={v}\n" for k, v in conf.items()))
        return path

    def build(self, name, version, key=None, config=None, annexd=None, min_installed=None, size=IMAGE_SIZE):
        out = self.dir / name
        args = ["build", "-q", "--out", str(out), "--key", str(key or self.keys / "signing.key"), "--version", version,
                "--size", size, "--cache", CACHE]
        if config:
            args += ["--config", str(config)]
        if annexd:
            args += ["--annexd", str(annexd)]
        if min_installed:
            args += ["--min-installed-version", min_installed]
        self.run(*args)
        return out

    def copy_image(self, image, name):
        dst = self.dir / name
        subprocess.run(["cp", "--sparse=always", str(image), str(dst)], check=True)
        return dst

    def extract_boot_files(self, image, slot="a"):
        """vmlinuz and initrd.img of `slot` from the image's ESP (direct kernel boot)."""
        out = {}
        for name in ("vmlinuz", "initrd.img"):
            dst = self.dir / f"{image.name}-{slot}-{name}"
            subprocess.run(["mcopy", "-o", "-n", "-i", f"{image}@@{ESP_OFFSET}", f"::/annex/{slot}/{name}", str(dst)],
                           check=True, env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
            out[name] = dst
        return out

    def status(self, disk):
        return self.run("status", "--target", str(disk)).stdout


class Qemu:
    """One virtual machine; the serial console goes to a log file. Guest
    reboots restart the machine in place (as a server's watchdog would)."""

    def __init__(self, disk, log_path, uefi=False, kernel=None, initrd=None, cmdline="", extra_disk=None,
                 forward=()):
        self.port = free_port()
        self.tls_port = free_port()  # the guest's HTTPS port 443
        # Further guest ports reachable from the host: guest port -> host port.
        self.forwarded = {guest: free_port() for guest in forward}
        self.log_path = Path(log_path)
        hostfwd = "".join(f",hostfwd=tcp:127.0.0.1:{host}-:{guest}" for guest, host in self.forwarded.items())
        args = [QEMU, "-machine", f"q35,accel={ACCEL}", "-cpu", "max", "-m", "1024", "-smp", "2", "-nographic",
                "-drive", f"file={disk},format=raw,if=virtio",
                "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{self.port}-:4566,"
                f"hostfwd=tcp:127.0.0.1:{self.tls_port}-:443{hostfwd}",
                "-device", "virtio-net-pci,netdev=n0"]
        if extra_disk:
            args += ["-drive", f"file={extra_disk},format=raw,if=virtio,readonly=on"]
        if uefi:
            self.vars = Path(str(log_path) + ".vars.fd")
            shutil.copyfile(OVMF_VARS, self.vars)
            args += ["-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
                     "-drive", f"if=pflash,format=raw,file={self.vars}"]
        else:
            args += ["-kernel", str(kernel), "-initrd", str(initrd), "-append",
                     f"console=ttyS0,115200 panic=10 {cmdline}"]
        self.log = open(self.log_path, "wb")
        # stdin is the serial console's keyboard (see type()).
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=self.log, stderr=subprocess.STDOUT)
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def type(self, text):
        """Types `text` on the serial console, a line at a time."""
        for line in text.splitlines(keepends=True):
            self.proc.stdin.write(line.encode())
            self.proc.stdin.flush()
            time.sleep(0.05)

    def console(self):
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def wait_for(self, pattern, timeout, start=0):
        """Waits until the console (from character `start`) matches; returns the match."""
        deadline = time.time() + timeout
        rx = re.compile(pattern)
        while time.time() < deadline:
            m = rx.search(self.console(), start)
            if m:
                return m
            if self.proc.poll() is not None:
                raise AssertionError(f"qemu exited ({self.proc.returncode}); console tail:\n{self.tail()}")
            time.sleep(0.5)
        raise AssertionError(f"no /{pattern}/ on the console within {timeout} s; tail:\n{self.tail()}")

    def tail(self, lines=40):
        text = self.console()
        return "\n".join(l for l in text.splitlines() if "annex" in l or "Kernel panic" in l or "BdsDxe" in l)[-6000:]

    def stop(self):
        """Pulls the plug (no shutdown): what survives is what was durable."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
        if self.proc.stdin:
            self.proc.stdin.close()
        self.log.close()


def qemu_missing():
    for f in (QEMU, OVMF_CODE, OVMF_VARS, "/usr/bin/mcopy"):
        if not os.path.exists(f):
            return f"{f} is not installed (scripts/install-deps.sh --test installs it)"
    return None
