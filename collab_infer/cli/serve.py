"""``collab-infer serve``: the server role on a UDP port (wire protocol:
collab_infer/net/protocol.py).
"""

from __future__ import annotations

from pathlib import Path

import typer

from collab_infer.cli.app import app

__all__ = ["serve"]


@app.command()
def serve(
    model: str = typer.Option(
        "default", "--model", "-m", help="'default', 'paligemma[:ID|DIR]', ..."
    ),
    split: str = typer.Option("projector", "--split", help="'projector' or 'vision' (as the edge)"),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="address to bind (default: localhost only)"
    ),
    port: int = typer.Option(5550, "--port", help="UDP port (0: any free port)"),
    metrics_port: int | None = typer.Option(
        None,
        "--metrics-port",
        help="TCP port of GET /health and /metrics (default: --port's number)",
    ),
    no_metrics: bool = typer.Option(False, "--no-metrics", help="serve no HTTP endpoint"),
    key_file: Path | None = typer.Option(
        None,
        "--key-file",
        help="shared key file: HMAC-SHA256 on every datagram (or $COLLAB_INFER_KEY)",
    ),
    max_batch: int = typer.Option(8, "--max-batch", help="most payloads per generate call"),
    max_wait_ms: float = typer.Option(
        10.0, "--max-wait-ms", help="how long a batch waits for more"
    ),
    reassembly_timeout: float = typer.Option(
        0.5,
        "--reassembly-timeout",
        help="seconds after a payload's last packet before its gaps are concealed",
    ),
    max_datagram: int = typer.Option(
        1472, "--max-datagram", help="largest datagram accepted (bytes)"
    ),
    max_inflight: int = typer.Option(64, "--max-inflight", help="payloads in flight, all clients"),
    max_inflight_client: int = typer.Option(
        8, "--max-inflight-client", help="payloads in flight per client"
    ),
    rate_limit: float = typer.Option(
        20000.0, "--rate-limit", help="datagrams per second per client"
    ),
    number_format: list[str] = typer.Option(
        [], "--number-format", help="accepted number formats (repeatable; default: all)"
    ),
    max_new_tokens: int = typer.Option(32, "--max-new-tokens", help="caption length limit"),
    beams: int = typer.Option(1, "--beams", help="beam search width (1: greedy)"),
    prompt: str | None = typer.Option(None, "--prompt", help="prompt (default: the model's)"),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda, ... (default: auto)"),
    dtype: str | None = typer.Option(None, "--dtype", help="weights dtype: fp32, bf16, fp16"),
    threads: int = typer.Option(0, "--threads", help="torch threads (0: all cores)"),
    duration: float | None = typer.Option(None, "--duration", help="stop after this many seconds"),
) -> None:
    """Serve the model's server half on a UDP port: reassemble each payload's packets
    (by payload id, with a timeout), conceal what is missing, rebuild the tokens,
    caption with dynamic batching, and answer each edge with its caption and receive
    statistics. Ctrl-C stops it and prints the metrics."""
    import asyncio
    import json
    import signal

    from collab_infer.cli.errors import check_threads, user_errors

    with user_errors():
        from collab_infer.net import Limits, NetServer
        from collab_infer.net.protocol import load_key

        check_threads(threads)
        limits = Limits(
            max_datagram_bytes=max_datagram,
            max_inflight=max_inflight,
            max_inflight_per_client=max_inflight_client,
            reassembly_timeout_s=reassembly_timeout,
            rate_per_s=rate_limit,
            max_batch=max_batch,
            max_wait_ms=max_wait_ms,
        )
        key = load_key(key_file)
        server = _server(
            model, split, device, dtype, threads, prompt, max_new_tokens, beams, number_format
        )
        net = NetServer(
            server,
            limits=limits,
            key=key,
            host=host,
            port=port,
            metrics_port=metrics_port,
            metrics=not no_metrics,
        )

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, net.stop)
            await net.start()
            h, p = net.address
            e = server.expect
            typer.echo(
                f"serving {server.model.name} (N={e.n_tokens}, D={e.dim}, split "
                f"{server.model.split}) on udp://{h}:{p}, key: {'yes' if key else 'no'}"
                + (
                    f"; metrics http://{net.metrics_address[0]}:{net.metrics_address[1]}/metrics"
                    if net.metrics_address
                    else ""
                ),
                err=True,
            )
            if key is None and host not in ("127.0.0.1", "::1", "localhost"):
                typer.echo(
                    f"warning: {host} without a shared key: anyone can send payloads", err=True
                )
            try:
                await net.wait_stopped(duration)
            finally:
                await net.close()

        try:
            asyncio.run(main())
        except OSError as exc:
            raise ValueError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from exc
    typer.echo(json.dumps(net.snapshot(), sort_keys=True))


def _server(model, split, device, dtype, threads, prompt, max_new_tokens, beams, formats):
    from collab_infer.cli.caption import _quiet_transformers
    from collab_infer.models import load
    from collab_infer.runtime import check_device, set_threads
    from collab_infer.server import Server

    check_device(device)
    set_threads(threads or None)
    _quiet_transformers()
    vlm = load(model, device=device, dtype=dtype, split=split)
    return Server(
        vlm,
        prompt=prompt,
        max_new_tokens=max_new_tokens,
        num_beams=beams,
        number_formats=formats or None,
    )
