"""A TCP proxy on loopback whose link the test controls (Python 3 standard library only).

    proxy = TcpProxy("127.0.0.1", upstream_port)   # listens on 127.0.0.1:proxy.port, starts in forward
    proxy.drop()      # resets every connection (RST both ways) and resets each new one right after accept
    proxy.stall()     # a blackhole: connections stay open, no byte moves in either direction
    proxy.forward()   # bytes flow again (connections held during a stall resume where they stopped)
    proxy.flap(cycles=8, down=1.0, up=1.0)   # drop/forward alternately, ending in forward
    proxy.close()

Every mode change is in effect when the call returns. One thread runs a selector loop over the listening
socket and every connection pair; a stall simply stops watching the pairs' sockets, so whatever the peers
write stays in kernel buffers, as on a path that silently loses packets. `stats` counts what happened
(accepted, forwarded, reset, refused connections, bytes each way).
"""

import collections
import selectors
import socket
import struct
import threading
import time

FORWARD, DROP, STALL = "forward", "drop", "stall"
_BUFFER_LIMIT = 1 << 20  # stop reading a side while this much waits for the other


def _reset(sock):
    """Closes with RST instead of FIN (SO_LINGER 0)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class _Pair:
    def __init__(self, client, upstream):
        self.client = client
        self.upstream = upstream
        self.out = {client: bytearray(), upstream: bytearray()}  # bytes waiting to be written to that socket
        self.closed = False

    def other(self, sock):
        return self.upstream if sock is self.client else self.client


class TcpProxy:
    def __init__(self, upstream_host, upstream_port, host="127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(128)
        self._listener.setblocking(False)
        self.host, self.port = self._listener.getsockname()
        self.mode = FORWARD
        self.stats = collections.Counter()
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._requests = collections.deque()  # (mode, threading.Event)
        self._requests_lock = threading.Lock()
        self._pairs = set()
        self._registered = {}  # socket -> events
        self._stopping = False
        self._sel.register(self._listener, selectors.EVENT_READ, "accept")
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._thread = threading.Thread(target=self._loop, name=f"tcp-proxy-{self.port}", daemon=True)
        self._thread.start()

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    # -- control (any thread) ----------------------------------------------

    def set_mode(self, mode, timeout=10):
        if mode not in (FORWARD, DROP, STALL):
            raise ValueError(f"unknown proxy mode {mode!r}")
        done = threading.Event()
        with self._requests_lock:
            self._requests.append((mode, done))
        self._wake_w.send(b"x")
        if not done.wait(timeout):
            raise RuntimeError(f"the proxy did not switch to {mode} within {timeout} s")

    def forward(self):
        self.set_mode(FORWARD)

    def drop(self):
        self.set_mode(DROP)

    def stall(self):
        self.set_mode(STALL)

    def flap(self, cycles=8, down=1.0, up=1.0):
        """Drops the link `cycles` times for `down` seconds each, forwarding `up` seconds in between; ends in
        forward."""
        for _ in range(cycles):
            self.drop()
            time.sleep(down)
            self.forward()
            time.sleep(up)

    def start_flap(self, cycles=8, down=1.0, up=1.0):
        """flap() on a thread of its own; join() the returned thread."""
        t = threading.Thread(target=self.flap, args=(cycles, down, up), name=f"tcp-proxy-flap-{self.port}",
                             daemon=True)
        t.start()
        return t

    def close(self):
        if self._stopping:
            return
        self._stopping = True
        self._wake_w.send(b"x")
        self._thread.join(10)
        for pair in list(self._pairs):
            self._close_pair(pair, rst=True)
        for s in (self._listener, self._wake_r, self._wake_w):
            s.close()
        self._sel.close()

    # -- the loop (its own thread) ---------------------------------------------

    def _loop(self):
        while not self._stopping:
            for key, events in self._sel.select(timeout=0.5):
                if key.data == "wake":
                    try:
                        self._wake_r.recv(4096)
                    except BlockingIOError:
                        pass
                elif key.data == "accept":
                    self._accept()
                else:
                    self._io(key.data, key.fileobj, events)
            self._apply_requests()

    def _apply_requests(self):
        while True:
            with self._requests_lock:
                if not self._requests:
                    return
                mode, done = self._requests.popleft()
            self.mode = mode
            if mode == DROP:
                for pair in list(self._pairs):
                    self._close_pair(pair, rst=True)
                    self.stats["reset"] += 1
            for pair in list(self._pairs):
                self._watch(pair)
            self.stats[f"mode_{mode}"] += 1
            done.set()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            self.stats["accepted"] += 1
            if self.mode == DROP:
                _reset(client)
                self.stats["refused"] += 1
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                self.stats["upstream_failed"] += 1
                continue
            for s in (client, upstream):
                s.setblocking(False)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = _Pair(client, upstream)
            self._pairs.add(pair)
            self._watch(pair)

    def _watch(self, pair):
        """Registers each socket of `pair` for what the mode and the buffers call for."""
        if pair.closed:
            return
        for sock in (pair.client, pair.upstream):
            events = 0
            if self.mode == FORWARD:
                if len(pair.out[pair.other(sock)]) < _BUFFER_LIMIT:
                    events |= selectors.EVENT_READ
                if pair.out[sock]:
                    events |= selectors.EVENT_WRITE
            current = self._registered.get(sock, 0)
            if events == current:
                continue
            if current == 0:
                self._sel.register(sock, events, pair)
            elif events == 0:
                self._sel.unregister(sock)
            else:
                self._sel.modify(sock, events, pair)
            if events:
                self._registered[sock] = events
            else:
                self._registered.pop(sock, None)

    def _io(self, pair, sock, events):
        if pair.closed or self.mode != FORWARD:
            return
        try:
            if events & selectors.EVENT_READ:
                data = sock.recv(65536)
                if not data:
                    # EOF: pass on what is still buffered for the other side, then close both.
                    other = pair.other(sock)
                    try:
                        other.setblocking(True)
                        other.settimeout(2)
                        other.sendall(pair.out[other])
                    except OSError:
                        pass
                    self._close_pair(pair, rst=False)
                    return
                pair.out[pair.other(sock)] += data
                self.stats["bytes_up" if sock is pair.client else "bytes_down"] += len(data)
                self._flush(pair, pair.other(sock))
            if events & selectors.EVENT_WRITE:
                self._flush(pair, sock)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._close_pair(pair, rst=True)
            return
        self._watch(pair)

    def _flush(self, pair, sock):
        buf = pair.out[sock]
        while buf:
            try:
                n = sock.send(buf)
            except (BlockingIOError, InterruptedError):
                return
            del buf[:n]

    def _close_pair(self, pair, rst):
        if pair.closed:
            return
        pair.closed = True
        self._pairs.discard(pair)
        for sock in (pair.client, pair.upstream):
            if self._registered.pop(sock, 0):
                try:
                    self._sel.unregister(sock)
                except (KeyError, ValueError):
                    pass
            if rst:
                _reset(sock)
            else:
                sock.close()
        self.stats["closed"] += 1
