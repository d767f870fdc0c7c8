"""``collab-infer link``: a UDP proxy applying a channel model to real datagrams."""

from __future__ import annotations

import typer

from collab_infer.cli.app import app

__all__ = ["link"]


@app.command()
def link(
    listen: str = typer.Option("127.0.0.1:5560", "--listen", help="HOST:PORT the edges send to"),
    forward: str = typer.Option("127.0.0.1:5550", "--forward", help="HOST:PORT of the server"),
    channel_name: str = typer.Option(
        "ideal", "--channel", "-c", help="link model (channel.make name)"
    ),
    snr_db: float | None = typer.Option(None, "--snr-db", help="channel SNR in dB"),
    loss: float | None = typer.Option(None, "--loss", help="packet loss probability"),
    channel_param: list[str] = typer.Option(
        [], "--channel-param", "-p", help="more channel parameters, KEY=VALUE (repeatable)"
    ),
    seed: int = typer.Option(0, "--seed", help="seed of the channel processes"),
    max_clients: int = typer.Option(256, "--max-clients", help="links held at once"),
    idle_timeout: float = typer.Option(
        60.0, "--idle-timeout", help="close a client's link after idle s"
    ),
    duration: float | None = typer.Option(None, "--duration", help="stop after this many seconds"),
) -> None:
    """Forward UDP datagrams from --listen to --forward through a channel model of the
    suite (loss, bit errors, airtime pacing and delay; one link per client); replies go
    back unimpaired. Ctrl-C stops it and prints the counts."""
    import asyncio
    import json
    import signal

    from collab_infer.cli.caption import parse_params
    from collab_infer.cli.errors import user_errors

    with user_errors():
        import channel
        from collab_infer.net import LinkProxy
        from collab_infer.net.protocol import parse_address

        listen_at = parse_address(listen, "--listen")
        forward_to = parse_address(forward, "--forward")
        params = {
            **({"snr_db": snr_db} if snr_db is not None else {}),
            **({"loss": loss} if loss is not None else {}),
            **parse_params(channel_param),
        }
        ch = channel.make(channel_name, **params)
        try:
            ch.transmit([bytes(64)], seed=0)  # can this model carry datagrams at all?
        except TypeError as exc:
            raise ValueError(f"--channel {channel_name} cannot carry datagrams: {exc}") from exc
        proxy = LinkProxy(
            listen_at,
            forward_to,
            ch,
            seed=seed,
            max_clients=max_clients,
            idle_timeout_s=idle_timeout,
        )

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await proxy.start()
            h, p = proxy.address
            typer.echo(
                f"link udp://{h}:{p} -> udp://{forward_to[0]}:{forward_to[1]} through "
                f"{json.dumps(ch.describe(), default=str)}",
                err=True,
            )
            try:
                await asyncio.wait_for(stop.wait(), duration)
            except asyncio.TimeoutError:
                pass
            finally:
                await proxy.close()

        try:
            asyncio.run(main())
        except OSError as exc:
            raise ValueError(f"cannot listen on {listen}: {exc.strerror or exc}") from exc
    typer.echo(json.dumps(proxy.stats(), sort_keys=True, default=str))
