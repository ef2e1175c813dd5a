"""A TCP proxy between two nodes that tests can cut and heal (network partitions).

Bytes pass through untouched (TLS stays end to end); ``cut()`` closes live
connections and refuses new ones until ``heal()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class FaultProxy:
    """Listens on ``listen_port`` and forwards to ``target_port`` on loopback."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self._cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.listen_port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._drop_all()

    def cut(self) -> None:
        self._cut = True
        self._drop_all()

    def heal(self) -> None:
        self._cut = False

    def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    if self._cut:
                        break
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


class ProxyMesh:
    """Proxies for every directed dial of a network, run on a background event loop."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.proxies: dict[tuple[int, int], FaultProxy] = {}

    def add(self, dialer: int, target: int, listen_port: int, target_port: int) -> None:
        proxy = FaultProxy(listen_port, target_port)
        asyncio.run_coroutine_threadsafe(proxy.start(), self._loop).result(5)
        self.proxies[(dialer, target)] = proxy

    def _call(self, fn: object) -> None:
        self._loop.call_soon_threadsafe(fn)  # type: ignore[arg-type]

    def partition(self, side_a: set[int], side_b: set[int]) -> None:
        for (i, j), proxy in self.proxies.items():
            if (i in side_a and j in side_b) or (i in side_b and j in side_a):
                self._call(proxy.cut)

    def heal(self) -> None:
        for proxy in self.proxies.values():
            self._call(proxy.heal)

    def close(self) -> None:
        for proxy in self.proxies.values():
            asyncio.run_coroutine_threadsafe(proxy.close(), self._loop).result(5)
        # Let cancelled link tasks finish before the loop stops and closes.
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0.2), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
