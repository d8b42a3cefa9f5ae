"""annex-image without booting: keys, reproducible builds, verification,
flashing (to files, and to loop devices where the machine allows it), and the
update's refusals and crash safety — each refusal checked to leave its target
exactly as it was."""

import os
import warnings
from pathlib import Path
import shutil
import signal
import stat
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from image_fixture import ANNEX_IMAGE, Workspace, sha256_file  # noqa: E402

MiB = 1 << 20


def losetup(path):
    """Attaches `path` to a free loop device, or returns (None, why not)."""
    if os.geteuid() != 0:
        return None, "loop devices need root"
    p = subprocess.run(["losetup", "--find", "--show", str(path)], capture_output=True, text=True)
    if p.returncode != 0:
        return None, f"losetup is not allowed here: {p.stderr.strip()}"
    return p.stdout.strip(), None


class ImageToolsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # boto3's connection pool outlives the test's clients; not a leak of ours.
        warnings.simplefilter("ignore", ResourceWarning)
        for tool in ("mcopy", "mkfs.vfat", "mke2fs", "debugfs"):
            if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}") and not os.path.exists(f"/sbin/{tool}"):
                raise unittest.SkipTest(f"{tool} is not installed (scripts/install-deps.sh installs it)")
        cls.ws = Workspace()
        cls.pub = str(cls.ws.keys / "signing.pub")
        cls.image = cls.ws.build("base.img", "1.0.0", min_installed="1.0.0")

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def fail_with(self, args, *fragments):
        p = self.ws.run(*args, check=False)
        self.assertNotEqual(p.returncode, 0, f"annex-image {' '.join(args)} should have failed:\n{p.stdout}")
        for f in fragments:
            self.assertIn(f, p.stderr)
        return p

    @staticmethod
    def overwrite_start(img):
        with open(img, "r+b") as f:
            f.write(b"\x01" * 16)

    def variant(self, name, mutate):
        """A copy of the base image (+ manifest and signature) changed by `mutate(dir, image)`."""
        d = self.ws.dir / name
        d.mkdir()
        img = d / "disk.img"
        for suffix in ("", ".manifest", ".manifest.sig"):
            subprocess.run(["cp", "--sparse=always", f"{self.image}{suffix}", f"{img}{suffix}"], check=True)
        mutate(img)
        return img

    # ---- keys and builds

    def test_keygen_writes_a_private_key_only_the_owner_reads_and_never_overwrites(self):
        mode = stat.S_IMODE(os.stat(self.ws.keys / "signing.key").st_mode)
        self.assertEqual(mode, 0o600)
        self.assertIn("BEGIN PUBLIC KEY", (self.ws.keys / "signing.pub").read_text())
        before = (self.ws.keys / "signing.key").read_bytes()
        self.fail_with(["keygen", "--out", str(self.ws.keys)], "refusing to replace a signing key")
        self.assertEqual((self.ws.keys / "signing.key").read_bytes(), before)

    def test_same_inputs_give_a_byte_identical_image_and_manifest(self):
        again = self.ws.build("again.img", "1.0.0", min_installed="1.0.0")
        self.assertEqual(sha256_file(again), sha256_file(self.image))
        self.assertEqual(Path(f"{again}.manifest").read_bytes(), Path(f"{self.image}.manifest").read_bytes())
        self.assertEqual(Path(f"{again}.manifest.sig").read_bytes(), Path(f"{self.image}.manifest.sig").read_bytes())

    def test_manifest_lists_every_artifact_with_slot_size_and_hash(self):
        import json
        m = json.loads(Path(f"{self.image}.manifest").read_text())
        self.assertEqual((m["format"], m["product"], m["version"], m["min_installed_version"]),
                         (1, "annex", "1.0.0", "1.0.0"))
        self.assertEqual(len(m["key_id"]), 16)
        names = {a["name"]: a for a in m["artifacts"]}
        self.assertEqual(set(names), {"disk", "esp", "root", "vmlinuz", "initrd.img"})
        self.assertEqual(names["disk"]["size"], os.path.getsize(self.image))
        self.assertEqual(names["disk"]["sha256"], sha256_file(self.image))
        root = names["root"]
        self.assertEqual(root["sha256"], sha256_file(self.image, root["offset"], root["size"]))
        # sfdisk agrees with our partition table.
        if shutil.which("sfdisk") or os.path.exists("/sbin/sfdisk"):
            dump = subprocess.run(["/sbin/sfdisk", "--dump", str(self.image)], capture_output=True, text=True,
                                  check=True).stdout
            for label in ("annex-esp", "annex-root-a", "annex-root-b", "annex-data"):
                self.assertIn(f'name="{label}"', dump)

    def test_root_ships_container_runtimes_network_tools_their_libraries_and_modules(self):
        """What annexd runs for ECS tasks is in the root slot at the paths it
        looks at, with every library ldd resolves for it here, and the kernel
        modules for overlay roots, veth/bridge and nft NAT are loaded at boot."""
        import json
        root = {a["name"]: a for a in json.loads(Path(f"{self.image}.manifest").read_text())["artifacts"]}["root"]
        root_img = self.ws.dir / "root-a.img"
        subprocess.run(["dd", f"if={self.image}", f"of={root_img}", "bs=1M", f"skip={root['offset']}",
                        f"count={root['size']}", "iflag=skip_bytes,count_bytes", "conv=sparse", "status=none"],
                       check=True)
        debugfs = shutil.which("debugfs") or "/sbin/debugfs"

        def in_root(*requests):
            script = self.ws.dir / "debugfs.cmd"
            script.write_text("".join(f"{r}\n" for r in requests))
            return subprocess.run([debugfs, "-f", str(script), str(root_img)], capture_output=True, text=True,
                                  check=True).stdout

        tools = {"crun": "/usr/bin/crun", "runc": "/usr/sbin/runc", "ip": "/usr/sbin/ip", "nft": "/usr/sbin/nft"}
        for tool, path in tools.items():
            host = shutil.which(tool) or path
            listing = in_root(f"stat {path}")
            self.assertIn("Type: regular", listing, f"{path} in the root slot")
            self.assertIn("Mode:  0755", listing, path)
            libs = [w for line in subprocess.run(["ldd", host], capture_output=True, text=True).stdout.splitlines()
                    for w in line.replace("=>", " ").split()[:2] if w.startswith("/")]
            self.assertTrue(libs, f"ldd found no libraries for {host}")
            for lib in libs:
                self.assertIn("Type: regular", in_root(f"stat {lib}"), f"{lib} (needed by {path}) in the root slot")
        modules = in_root("cat /etc/annex/modules").splitlines()
        loaded = {Path(m).name.removesuffix(".ko") for m in modules if m.endswith(".ko")}
        for m in ("overlay", "veth", "bridge", "nf_tables", "nft_chain_nat", "nft_nat", "nft_masq", "nft_ct",
                  "nft_fib_ipv4", "nf_nat", "nf_conntrack"):
            self.assertIn(m, loaded)
        # Dependencies come first: the list is the insmod order.
        names = [Path(m).name.removesuffix(".ko") for m in modules if m.endswith(".ko")]
        self.assertLess(names.index("nf_conntrack"), names.index("nf_nat"))
        self.assertLess(names.index("nf_tables"), names.index("nft_masq"))
        self.assertLess(names.index("stp"), names.index("bridge"))

    # ---- verify

    def test_verify_accepts_the_image(self):
        out = self.ws.run("verify", str(self.image), "--pubkey", self.pub).stdout
        self.assertIn("OK (Annex 1.0.0", out)

    def test_verify_refuses_an_unknown_key(self):
        other = self.ws.dir / "other-keys"
        self.ws.run("keygen", "--out", str(other))
        self.fail_with(["verify", str(self.image), "--pubkey", str(other / "signing.pub")],
                       "does not verify with any trusted key")

    def test_verify_refuses_a_changed_manifest(self):
        def mutate(img):
            m = Path(f"{img}.manifest")
            m.write_text(m.read_text().replace('"1.0.0"', '"9.0.0"', 1))
        self.fail_with(["verify", str(self.variant("manifest", mutate)), "--pubkey", self.pub],
                       "does not verify with any trusted key")

    def test_verify_refuses_a_tampered_image(self):
        def mutate(img):
            with open(img, "r+b") as f:
                f.seek(100 * MiB)
                b = f.read(1)
                f.seek(100 * MiB)
                f.write(bytes([b[0] ^ 1]))
        self.fail_with(["verify", str(self.variant("tampered", mutate)), "--pubkey", self.pub],
                       "does not match its manifest")

    def test_verify_refuses_a_truncated_image(self):
        img = self.variant("truncated", lambda img: os.truncate(img, os.path.getsize(img) - MiB))
        self.fail_with(["verify", str(img), "--pubkey", self.pub], "the image is truncated")

    # ---- flash

    def test_flash_to_a_file_reads_back_identical(self):
        target = self.ws.dir / "flashed.img"
        out = self.ws.run("flash", str(self.image), str(target), "--pubkey", self.pub).stdout
        self.assertIn("flashed", out)
        self.assertEqual(sha256_file(target), sha256_file(self.image))

    def test_flash_refuses_bad_images_and_leaves_the_target_untouched(self):
        target = self.ws.dir / "precious.img"
        target.write_bytes(os.urandom(MiB))
        before = sha256_file(target)
        other = self.ws.dir / "flash-other-keys"
        self.ws.run("keygen", "--out", str(other))
        cases = [
            (self.image, str(other / "signing.pub"), "does not verify with any trusted key"),
            (self.variant("flash-truncated", lambda img: os.truncate(img, os.path.getsize(img) // 2)), self.pub,
             "truncated"),
            (self.variant("flash-tampered", self.overwrite_start), self.pub,
             "does not match its manifest"),
        ]
        for img, key, why in cases:
            with self.subTest(why=why):
                self.fail_with(["flash", str(img), str(target), "--pubkey", key], why)
                self.assertEqual(sha256_file(target), before)

    def loop_device(self, name, size, head=b""):
        """A loop device over a new sparse file starting with `head`; skips the test where loops are not allowed."""
        backing = self.ws.dir / name
        with open(backing, "wb") as f:
            f.write(head)
            f.truncate(size)
        dev, why = losetup(backing)
        if not dev:
            self.skipTest(why)
        self.addCleanup(subprocess.run, ["losetup", "-d", dev])
        return dev, backing

    def test_flash_to_a_loop_device(self):
        dev, _ = self.loop_device("loop-backing.img", os.path.getsize(self.image))
        self.ws.run("flash", str(self.image), dev, "--pubkey", self.pub)
        self.assertEqual(sha256_file(dev, 0, os.path.getsize(self.image)), sha256_file(self.image))

    def test_flash_refuses_a_loop_device_that_is_too_small(self):
        dev, backing = self.loop_device("small-backing.img", 64 * MiB, b"keep me")
        self.fail_with(["flash", str(self.image), dev, "--pubkey", self.pub], "the image needs")
        self.assertEqual(Path(backing).read_bytes()[:7], b"keep me")

    def test_flash_refuses_a_mounted_device(self):
        dev, _ = self.loop_device("mounted-backing.img", os.path.getsize(self.image))
        subprocess.run(["/sbin/mke2fs", "-q", "-F", "-t", "ext4", dev], check=True)
        mnt = self.ws.dir / "mnt"
        mnt.mkdir()
        p = subprocess.run(["mount", dev, str(mnt)], capture_output=True, text=True)
        if p.returncode != 0:
            self.skipTest(f"mount is not allowed here: {p.stderr.strip()}")
        self.addCleanup(subprocess.run, ["umount", str(mnt)])
        before = sha256_file(dev, 0, 4 * MiB)
        self.fail_with(["flash", str(self.image), dev, "--pubkey", self.pub], "is mounted or in use")
        self.assertEqual(sha256_file(dev, 0, 4 * MiB), before)

    # ---- update

    def flashed_disk(self, name):
        disk = self.ws.dir / name
        self.ws.run("flash", "-q", str(self.image), str(disk), "--pubkey", self.pub)
        return disk

    def test_update_writes_only_the_inactive_slot(self):
        disk = self.flashed_disk("update-disk.img")
        import json
        layout = {a["name"]: a for a in json.loads(Path(f"{self.image}.manifest").read_text())["artifacts"]}
        root_a = layout["root"]
        before_a = sha256_file(disk, root_a["offset"], root_a["size"])
        bundle = self.ws.build("bundle-1.1.img", "1.1.0")
        out = self.ws.run("update", str(bundle), "--target", str(disk)).stdout
        self.assertIn("into slot b as annex-2-b+3.conf", out)
        self.assertEqual(sha256_file(disk, root_a["offset"], root_a["size"]), before_a)
        # Slot B now holds exactly the bundle's root filesystem.
        root_b_offset = root_a["offset"] + root_a["size"]
        self.assertEqual(sha256_file(disk, root_b_offset, root_a["size"]),
                         sha256_file(bundle, root_a["offset"], root_a["size"]))
        status = self.ws.status(disk)
        self.assertIn("annex-1-a.conf  slot a  good", status)
        self.assertIn("annex-2-b+3.conf  slot b  3 tries left  <- boots next", status)

    def test_update_refuses_a_downgrade_below_the_installed_minimum(self):
        disk = self.flashed_disk("downgrade-disk.img")
        old = self.ws.build("old-0.9.img", "0.9.0", min_installed="0.0.0")
        before = sha256_file(disk)
        self.fail_with(["update", str(old), "--target", str(disk)], "refusing to downgrade", "below 1.0.0")
        self.assertEqual(sha256_file(disk), before)

    def test_update_refuses_bundles_from_keys_the_system_does_not_trust(self):
        disk = self.flashed_disk("untrusted-disk.img")
        other = self.ws.dir / "rogue-keys"
        self.ws.run("keygen", "--out", str(other))
        rogue = self.ws.build("rogue.img", "2.0.0", key=other / "signing.key")
        before = sha256_file(disk)
        self.fail_with(["update", str(rogue), "--target", str(disk)], "does not verify with any trusted key")
        self.assertEqual(sha256_file(disk), before)

    def test_update_killed_at_any_step_leaves_the_running_slot_booting(self):
        bundle = self.ws.build("bundle-kill.img", "1.1.0")
        for step in ("[3/6]", "[4/6]", "[5/6]", "[6/6]"):
            with self.subTest(killed_at=step):
                disk = self.flashed_disk(f"kill-{step[1]}.img")
                p = subprocess.Popen([ANNEX_IMAGE, "update",
                                      str(bundle), "--target", str(disk)],
                                     stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
                seen = ""
                while step not in seen:
                    line = p.stderr.readline()
                    if not line:
                        break
                    seen += line
                p.send_signal(signal.SIGKILL)
                p.wait()
                status = self.ws.status(disk)
                boots = [l for l in status.splitlines() if "<- boots next" in l]
                # Either the old slot still boots, or the update had already
                # finished arming B (then B boots with its counter).
                self.assertEqual(len(boots), 1, status)
                self.assertTrue(boots[0].startswith("annex-1-a.conf") or boots[0].startswith("annex-2-b+3.conf"),
                                status)
                if boots[0].startswith("annex-1-a.conf"):
                    # A half-installed slot B has no entry at all.
                    self.assertNotIn("annex-2-b", status)


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import unittest_main
    unittest_main.run()
