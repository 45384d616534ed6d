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
    p.add_argument("--workdir", default="studio", help="where sessions keep uploads, takes and renders")
    p.add_argument("--block-size", type=int, default=1024, help="default live block size in samples")
    p.add_argument("--max-upload-mb", type=int, default=50, help="largest audio upload accepted")


def run(args: argparse.Namespace) -> int:
    import time

    from foleyvae.errors import FoleyError, require

    require("fastapi", "studio")
    uvicorn = require("uvicorn", "studio")

    from foleyvae.playable.demo import demo_model
    from foleyvae.studio.app import Studio, StudioConfig, create_app
    from foleyvae.studio.security import LOOPBACK_HOSTS, new_token
    from foleyvae.studio.session import ModelEntry

    if not 0 <= args.port < 65536:
        raise FoleyError(f"--port {args.port}: must be in 0..65535")
    if args.host not in LOOPBACK_HOSTS:
        print(f"warning: binding {args.host}: other machines on the network can reach the studio (token required)")
    session = Path(args.workdir).resolve() / time.strftime("session-%Y%m%d-%H%M%S")
    demo = ModelEntry("demo", "demo (untrained)", "demo", "random weights: for trying the interface", demo_model)
    cfg = StudioConfig(
        token=new_token(),
        session_dir=session,
        host=args.host,
        runs_dir=Path(args.runs).resolve(),
        model_dirs=[Path(d).resolve() for d in args.models_dir],
        extra_models=[demo],
        default_model=args.model,
        max_upload_bytes=args.max_upload_mb * 1024 * 1024,
        default_block_size=args.block_size,
    )
    studio = Studio(cfg)
    studio.open_default()
    app = create_app(cfg, studio)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", ws_max_size=1 << 20)
    server = uvicorn.Server(config)

    def announce() -> None:
        import webbrowser

        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1] if server.servers else args.port
        shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        url = f"http://{shown}:{port}/?token={cfg.token}"
        print(f"Foley-VAE Studio: {url}\n  session folder: {session}\n  Ctrl+C to stop", flush=True)
        if not args.no_browser:
            webbrowser.open(url)

    import threading

    threading.Thread(target=announce, daemon=True).start()
    server.run()
    return 0
