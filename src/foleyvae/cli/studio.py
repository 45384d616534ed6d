"""``foleyvae studio``: open the local web studio (FastAPI + WebSocket, served on 127.0.0.1 by default)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", "-m", help="model to open at start: a bundled name, or a name/id shown in the page")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.add_argument("--runs", default="runs", help="folder of training runs whose exported .ts files are listed")
    p.add_argument("--models-dir", action="append", default=[], help="another folder of .ts models (repeatable)")
    p.add_argument(
        "--workdir", default="studio", help="studio folder: its token, uploads, takes, renders and presets (kept)"
    )
    p.add_argument("--new-token", action="store_true", help="replace the folder's token (open pages must reopen)")
    p.add_argument("--block-size", type=int, default=1024, help="default live block size in samples")
    p.add_argument("--max-upload-mb", type=int, default=2048, help="largest audio upload accepted (streamed to disk)")
    p.add_argument(
        "--max-upload-seconds", type=float, default=4 * 3600.0, help="longest audio upload accepted (decoded)"
    )
    p.add_argument("--max-upload-channels", type=int, default=8, help="most channels an audio upload may have")
    p.add_argument("--max-take-seconds", type=float, default=300.0, help="a live take stops at this length")
    p.add_argument("--max-connections", type=int, default=200, help="open HTTP connections at most")
    p.add_argument(
        "--osc-port", type=int, metavar="N", help="receive OSC on UDP 127.0.0.1:N (docs/osc.md); 0 picks a free port"
    )
    p.add_argument("--header-timeout", type=float, default=10.0, help="seconds a client has to send request headers")


def run(args: argparse.Namespace) -> int:
    import os
    import time

    from foleyvae.errors import FoleyError, require

    require("fastapi", "studio")
    uvicorn = require("uvicorn", "studio")

    from foleyvae.audio.io import DecodeLimits
    from foleyvae.playable.demo import demo_model
    from foleyvae.studio.app import MAX_WS_MESSAGE, Studio, StudioConfig, create_app
    from foleyvae.studio.security import LOOPBACK_HOSTS
    from foleyvae.studio.server import ServerLimits, uvicorn_config
    from foleyvae.studio.session import ModelEntry
    from foleyvae.studio.tokens import folder_token

    if not 0 <= args.port < 65536:
        raise FoleyError(f"--port {args.port}: must be in 0..65535")
    limits = [("--max-upload-seconds", args.max_upload_seconds), ("--max-upload-channels", args.max_upload_channels)]
    limits += [("--max-take-seconds", args.max_take_seconds), ("--max-connections", args.max_connections)]
    limits += [("--header-timeout", args.header_timeout), ("--max-upload-mb", args.max_upload_mb)]
    for flag, value in limits:
        if not value > 0:
            raise FoleyError(f"{flag} {value}: must be > 0")
    os.umask(0o077)  # this process is the studio: whatever it writes (uploads, takes, videos) is the user's only
    if args.host not in LOOPBACK_HOSTS:
        print(f"warning: binding {args.host}: other machines on the network can reach the studio (token required)")
    workdir = Path(args.workdir).resolve()
    session = workdir / "session"  # the same folder every run: earlier takes and uploads are listed again
    demo = ModelEntry("demo", "demo (untrained)", "demo", "random weights: for trying the interface", demo_model)
    cfg = StudioConfig(
        token=folder_token(workdir, rotate=args.new_token),  # stable per folder: an open page reconnects
        session_dir=session,
        host=args.host,
        runs_dir=Path(args.runs).resolve(),
        model_dirs=[Path(d).resolve() for d in args.models_dir],
        extra_models=[demo],
        default_model=args.model,
        max_upload_bytes=args.max_upload_mb * 1024 * 1024,
        default_block_size=args.block_size,
        upload_limits=DecodeLimits(max_seconds=args.max_upload_seconds, max_channels=args.max_upload_channels),
        max_take_seconds=args.max_take_seconds,
        server=ServerLimits(header_timeout_s=args.header_timeout, max_connections=args.max_connections),
    )
    studio = Studio(cfg)
    studio.open_default()
    if args.osc_port is not None:
        osc = studio.remote.start_osc(args.osc_port)  # 127.0.0.1 only, whatever --host says: OSC has no token
        print(f"OSC on udp://127.0.0.1:{osc.port} (docs/osc.md)", flush=True)
    app = create_app(cfg, studio)
    server = uvicorn.Server(uvicorn_config(app, args.host, args.port, cfg.server, MAX_WS_MESSAGE))

    def announce() -> None:
        import webbrowser

        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1] if server.servers else args.port
        shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        url = f"http://{shown}:{port}/?token={cfg.token}"
        print(f"Foley-VAE Studio: {url}\n  session folder: {session}\n  Ctrl+C to stop", flush=True)
        if not args.no_browser:
            # the browser's command line is visible to every local user: give it a one-time code, not the token
            webbrowser.open(f"http://{shown}:{port}/login?code={studio.logins.issue()}")

    import threading

    threading.Thread(target=announce, daemon=True).start()
    try:
        server.run()
    finally:
        studio.remote.close()
    return 0
