#!/usr/bin/python3
"""SIGTERM with an upload still running past the drain timeout.

Regression: annexd reset the connection without an answer and still logged
"stopped cleanly". Now the upload is answered 503 ServiceUnavailable before
the connection closes, and the log says how many requests were abandoned.
"""

import os
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, random_bucket  # noqa: E402


class ShutdownDrainTest(unittest.TestCase):

    def test_an_upload_outliving_the_drain_is_answered_503(self):
        d = Daemon(extra_env={"ANNEX_DRAIN_TIMEOUT_MS": "1000"})
        self.addCleanup(d.cleanup)
        d.start()
        bucket = random_bucket("drain")
        self.assertEqual(d.signed("PUT", f"/{bucket}")[0], 200)
        path = f"/{bucket}/slow"
        headers = harness.sign_headers("PUT", f"127.0.0.1:{d.port}", path, None, {"content-length": "100000"},
                                       "UNSIGNED-PAYLOAD", *d.creds())
        s = socket.create_connection(("127.0.0.1", d.port), timeout=15)
        self.addCleanup(s.close)
        head = f"PUT {harness.uri_encode(path)} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        s.sendall(head.encode() + b"\r\n" + b"x" * 1000)
        time.sleep(0.3)  # the upload is in flight
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        got = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            pass
        self.assertTrue(got.startswith(b"HTTP/1.1 503"), got[:400])
        self.assertEqual(harness.error_code(got.split(b"\r\n\r\n", 1)[1]), "ServiceUnavailable")
        self.assertEqual(d.proc.wait(15), 0)
        self.assertLess(time.monotonic() - t0, 6)
        log = d.log_path.read_text(errors="replace")
        self.assertIn("abandoned=1", log)
        self.assertNotIn("stopped cleanly", log.split("shutting down", 1)[1])


if __name__ == "__main__":
    harness.main()
