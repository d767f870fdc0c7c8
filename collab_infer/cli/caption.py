"""``collab-infer caption IMAGE``: caption one image through edge -> link -> server."""

from __future__ import annotations

from pathlib import Path

import typer

from collab_infer.cli.app import app

__all__ = ["caption", "parse_params"]


def parse_params(items: list[str]) -> dict:
    """``["loss=0.1", "fading=rayleigh"]`` -> ``{"loss": 0.1, "fading": "rayleigh"}`` (values
    read as YAML scalars: numbers, booleans, strings)."""
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"channel parameter {item!r} must look like KEY=VALUE")
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ValueError(f"channel parameter {item!r}: cannot read the value ({exc})") from exc
        out[key.strip()] = _number_or_text(parsed)
    return out


def _number_or_text(value: object) -> object:
    """YAML 1.1 reads ``1e-3`` (no dot) as text; on the command line it means the number."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


@app.command()
def caption(
    image: Path = typer.Argument(..., help="the image file (any format PIL reads)"),
    reducer: str = typer.Option("kmeans", "--reducer", "-r", help="token reducer"),
    k: int = typer.Option(8, "--k", "-k", help="centroids / tokens kept (K)"),
    model: str = typer.Option(
        "default",
        "--model",
        "-m",
        help="'default', FAMILY[:ID|DIR] (paligemma, llava, qwen2_5_vl, qwen2_vl, qwen3_vl, "
        "gemma3, smolvlm, internvl, llava_onevision) or a checkpoint dir",
    ),
    split: str = typer.Option("projector", "--split", help="'projector' or 'vision'"),
    number_format: str = typer.Option("fp16", "--number-format", help="vector number format"),
    index_coding: str = typer.Option("auto", "--index-coding", help="auto, packed or entropy"),
    channel_name: str = typer.Option("ideal", "--channel", "-c", help="link model"),
    snr_db: float | None = typer.Option(None, "--snr-db", help="channel SNR in dB"),
    loss: float | None = typer.Option(None, "--loss", help="packet loss probability"),
    channel_param: list[str] = typer.Option(
        [], "--channel-param", "-p", help="more channel parameters, KEY=VALUE (repeatable)"
    ),
    mtu: int = typer.Option(1400, "--mtu", help="largest packet in bytes"),
    seed: int = typer.Option(0, "--seed", help="seed of the reducer and the channel"),
    max_new_tokens: int = typer.Option(32, "--max-new-tokens", help="caption length limit"),
    beams: int = typer.Option(1, "--beams", help="beam search width (1: greedy)"),
    prompt: str | None = typer.Option(None, "--prompt", help="prompt (default: the model's)"),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda, ... (default: auto)"),
    dtype: str | None = typer.Option(
        None,
        "--dtype",
        help="weights dtype: fp32, bf16, fp16 (default: fp32 on CPU, bf16 on CUDA); loaded "
        "directly in it, so bf16 needs about half the memory of fp32",
    ),
    threads: int = typer.Option(0, "--threads", help="torch threads (0: all cores)"),
) -> None:
    """Caption IMAGE the collaborative way: the edge encodes and reduces its visual tokens
    (e.g. k-means: K centroids + N indices), the codec turns them into packets, the channel
    delivers them, and the server rebuilds the tokens and generates the caption. Prints
    the caption, the payload size (real codec bytes), K/N and the channel statistics."""
    from rich.console import Console

    from collab_infer.cli.errors import user_errors

    console = Console()
    with user_errors():
        result = _run(
            image=image,
            reducer=reducer,
            k=k,
            model=model,
            split=split,
            number_format=number_format,
            index_coding=index_coding,
            channel_name=channel_name,
            channel_params={
                **({"snr_db": snr_db} if snr_db is not None else {}),
                **({"loss": loss} if loss is not None else {}),
                **parse_params(channel_param),
            },
            mtu=mtu,
            seed=seed,
            max_new_tokens=max_new_tokens,
            beams=beams,
            prompt=prompt,
            device=device,
            dtype=dtype,
            threads=threads,
        )
    _print(console, result)


def _run(**a) -> dict:
    import channel
    from collab_infer.cli.errors import check_threads
    from collab_infer.datasets.images import open_image
    from collab_infer.edge import Edge
    from collab_infer.models import load
    from collab_infer.runtime import check_device, set_threads
    from collab_infer.server import Server

    check_threads(a["threads"])
    img = open_image(a["image"])  # before the model: a bad path fails fast
    check_device(a["device"])
    link = channel.make(a["channel_name"], **a["channel_params"])
    set_threads(a["threads"] or None)
    _quiet_transformers()
    vlm = load(a["model"], device=a["device"], dtype=a.get("dtype"), split=a["split"])
    edge = Edge(
        vlm,
        a["reducer"],
        a["k"],
        number_format=a["number_format"],
        index_coding=a["index_coding"],
        mtu=a["mtu"],
    )
    server = Server(
        vlm, prompt=a["prompt"], max_new_tokens=a["max_new_tokens"], num_beams=a["beams"]
    )
    tx = edge([img], seed=a["seed"])[0]
    if getattr(link, "name", None) == "analog":  # values over the air, side info digital
        from collab_infer.analog_tx import send_payload

        received, delivery = send_payload(link, tx.payload, a["seed"], mtu=a["mtu"])
    else:
        delivery = link.transmit(tx.packets, seed=a["seed"])
        received = server.receive(delivery.packets)
    # analog: side information lost, the image is lost (empty caption, as in a sweep)
    text = "" if received is None else server.caption([received])[0]
    return {
        "caption": text,
        "model": vlm.name,
        "weights": vlm.describe().get("weights", ""),
        "reducer": a["reducer"],
        "k": tx.vectors_sent,
        "n_tokens": tx.n_tokens,
        "dim": vlm.dim,
        "number_format": a["number_format"],
        "payload_bytes": tx.payload_bytes,
        "payload_bits": tx.payload_bits,
        "packets": len(tx.packets),
        "packet_bits": tx.packet_bits,
        "channel": link.describe(),
        "bits_on_air": delivery.bits_on_air,
        "airtime_s": delivery.airtime_s,
        "latency_s": delivery.latency_s,
        "packets_lost": delivery.n_lost,
        "packets_delivered": len(delivery.packets),
        "stats": delivery.stats,
    }


def _quiet_transformers() -> None:
    """No weight-loading progress bars on the terminal of a one-image command."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def _print(console, r: dict) -> None:
    from rich.table import Table

    console.print(f"[bold]caption:[/bold] {r['caption']}", highlight=False, soft_wrap=True)
    table = Table(show_header=False, box=None)
    table.add_row("model", f"{r['model']} ({r['weights']})" if r["weights"] else r["model"])
    table.add_row(
        "reducer",
        f"{r['reducer']}: K={r['k']} of N={r['n_tokens']} (K/N = {r['k'] / r['n_tokens']:.4f})",
    )
    table.add_row(
        "payload",
        f"{r['payload_bytes']} bytes = {r['payload_bits']} bits "
        f"({r['number_format']}, D={r['dim']}); {r['payload_bits'] / r['n_tokens']:.1f} bits/token",
    )
    table.add_row("packets", f"{r['packets']} packets, {r['packet_bits']} bits with packet headers")
    ch = ", ".join(f"{k}={v}" for k, v in r["channel"].items() if k != "name")
    table.add_row("channel", f"{r['channel'].get('name', '?')}" + (f" ({ch})" if ch else ""))
    table.add_row(
        "delivery",
        f"{r['bits_on_air']} bits on air, airtime {r['airtime_s']:.6g} s, "
        f"latency {r['latency_s']:.6g} s",
    )
    table.add_row("received", f"{r['packets_lost']} of {r['packets_delivered']} packets lost")
    for key, value in r["stats"].items():
        table.add_row(f"  {key}", _short(value))
    console.print(table)


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."
