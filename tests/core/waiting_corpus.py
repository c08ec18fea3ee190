"""The corpus for waiting-for-input detection: programs that wait to read their terminal, and ones that do not."""

from __future__ import annotations

import shutil
import sys

PY = sys.executable

# name -> shell command; each blocks reading its terminal once started.
WAITING: dict[str, str] = {
    "python input()": f"{PY} -c 'input(\"name? \")'",
    "python input() with readline": f"{PY} -c 'import readline; input(\"name? \")'",
    "pdb.set_trace()": f"{PY} -c 'import pdb; pdb.set_trace(); x = 1'",
    "breakpoint()": f"{PY} -c 'breakpoint(); x = 1'",
    "sh read": "printf 'name? '; read x",
    "cat reading the tty": "cat",
    "python asyncio reading stdin": (
        f"{PY} -c 'import asyncio, sys\n"
        "async def main():\n"
        "    loop = asyncio.get_running_loop(); r = asyncio.StreamReader()\n"
        "    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(r), sys.stdin)\n"
        "    await r.readline()\n"
        "asyncio.run(main())'"
    ),
}
if shutil.which("node"):
    WAITING["node readline"] = (
        'node -e \'const r = require("readline").createInterface({input: process.stdin, output: process.stdout});'
        ' r.question("q? ", a => { r.close() })\''
    )

# name -> shell command; each is quiet (or busy) without reading its terminal.
NOT_WAITING: dict[str, str] = {
    "quiet HTTP server": f"{PY} -m http.server 0 --bind 127.0.0.1",
    "sleeping worker (sh sleep)": "while :; do sleep 5; done",
    "python time.sleep": f"{PY} -c 'import time; time.sleep(60)'",
    "blocked writing to a full pipe": f"{PY} -c 'import os; r, w = os.pipe(); os.write(w, b\"x\" * 1000000)'",
    "busy loop": f"{PY} -c 'while True: pass'",
    "printing steadily": f"{PY} -c 'import time\nwhile True: print(\"tick\", flush=True); time.sleep(0.05)'",
    "select on a socket": (f"{PY} -c 'import select, socket; a, b = socket.socketpair(); select.select([a], [], [])'"),
    "sh waiting for its child": "sleep 60 & wait",
}
