"""``collab-infer edge IMAGE...``: the edge role against a ``collab-infer serve`` server."""

from __future__ import annotations

from pathlib import Path

import typer

from collab_infer.cli.app import app

__all__ = ["edge"]

_BREAKDOWN = (
    "encode_s",
    "reduce_s",
    "codec_s",
    "send_s",
    "network_s",
    "reassembly_s",
    "queue_s",
    "generate_s",
    "server_s",
    "e2e_s",
)


@app.command()
def edge(
    images: list[Path] = typer.Argument(..., help="image files (any format PIL reads)"),
    server: str = typer.Option(
        "127.0.0.1:5550", "--server", "-s", help="HOST:PORT of the server or link"
    ),
    reducer: str = typer.Option("kmeans", "--reducer", "-r", help="token reducer"),
    k: int = typer.Option(8, "--k", "-k", help="centroids / tokens kept (K)"),
    model: str = typer.Option("default", "--model", "-m", help="as the server's --model"),
    split: str = typer.Option(
        "projector", "--split", help="'projector' or 'vision' (as the server)"
    ),
    number_format: str = typer.Option("fp16", "--number-format", help="vector number format"),
    index_coding: str = typer.Option("auto", "--index-coding", help="auto, packed or entropy"),
    mtu: int = typer.Option(1400, "--mtu", help="largest codec packet in bytes (+32 with a key)"),
    channel_name: str = typer.Option(
        "ideal", "--channel", "-c", help="channel model whose airtime paces the packets"
    ),
    snr_db: float | None = typer.Option(None, "--snr-db", help="channel SNR in dB"),
    channel_param: list[str] = typer.Option(
        [], "--channel-param", "-p", help="more channel parameters, KEY=VALUE (repeatable)"
    ),
    seed: int = typer.Option(0, "--seed", help="seed of the reducer and the pacing channel"),
    timeout: float = typer.Option(30.0, "--timeout", help="seconds to wait for each reply"),
    key_file: Path | None = typer.Option(
        None, "--key-file", help="shared key file (or $COLLAB_INFER_KEY)"
    ),
    out: Path | None = typer.Option(
        None, "--out", help="write one row per image: FILE.csv or FILE.jsonl"
    ),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda, ... (default: auto)"),
    dtype: str | None = typer.Option(None, "--dtype", help="weights dtype: fp32, bf16, fp16"),
    threads: int = typer.Option(0, "--threads", help="torch threads (0: all cores)"),
) -> None:
    """Caption IMAGEs through a server over the network: encode and reduce the visual
    tokens here, send the codec's packets as UDP datagrams paced at the channel model's
    airtime, wait for the caption, and print it with the latency breakdown."""
    import asyncio
    import json

    from collab_infer.cli.caption import parse_params
    from collab_infer.cli.errors import check_threads, user_errors

    with user_errors():
        import channel
        from collab_infer.datasets.images import open_image
        from collab_infer.net.limits import Limits
        from collab_infer.net.protocol import TAG_BYTES, load_key, parse_address

        DEFAULT_MAX_DATAGRAM = Limits().max_datagram_bytes  # noqa: N806

        check_threads(threads)
        address = parse_address(server, "--server")
        if out is not None and out.suffix not in (".csv", ".jsonl"):
            raise ValueError(f"--out {out}: use a .csv or .jsonl file")
        if out is not None and out.is_dir():
            raise ValueError(f"--out {out} is a folder: give a file name ending .csv or .jsonl")
        key = load_key(key_file)
        datagram = mtu + (TAG_BYTES if key is not None else 0)
        if datagram > DEFAULT_MAX_DATAGRAM:
            typer.echo(
                f"warning: datagrams of up to {datagram} bytes exceed a server's default "
                f"--max-datagram {DEFAULT_MAX_DATAGRAM} (it drops them): lower --mtu or raise "
                "the server's --max-datagram",
                err=True,
            )
        params = {
            **({"snr_db": snr_db} if snr_db is not None else {}),
            **parse_params(channel_param),
        }
        pacing = channel.make(channel_name, **params)
        pictures = [open_image(p) for p in images]  # before the model: a bad path fails fast
        rows = asyncio.run(
            _run(
                pictures,
                address,
                key,
                pacing,
                model,
                split,
                reducer,
                k,
                number_format,
                index_coding,
                mtu,
                seed,
                timeout,
                device,
                dtype,
                threads,
            )
        )
    for path, row in zip(images, rows, strict=True):
        row["file"] = str(path)
        row["channel_desc"] = json.dumps(pacing.describe(), sort_keys=True, default=str)
        _print(row)
    if out is not None:
        _write(out, rows)
    if any(r["status"] != "ok" for r in rows):
        raise typer.Exit(1)


async def _run(
    pictures,
    address,
    key,
    pacing,
    model,
    split,
    reducer,
    k,
    number_format,
    index_coding,
    mtu,
    seed,
    timeout,
    device,
    dtype,
    threads,
):
    from collab_infer.cli.caption import _quiet_transformers
    from collab_infer.edge import Edge
    from collab_infer.models import load
    from collab_infer.net import EdgeClient, caption_images
    from collab_infer.runtime import check_device, set_threads

    check_device(device)
    set_threads(threads or None)
    _quiet_transformers()
    vlm = load(model, device=device, dtype=dtype, split=split)
    ed = Edge(vlm, reducer, k, number_format=number_format, index_coding=index_coding, mtu=mtu)
    async with EdgeClient(
        address, key=key, mtu=mtu, channel=pacing, seed=seed, reply_timeout_s=timeout
    ) as client:
        rows = await caption_images(ed, client, pictures, seed=seed)
    for r in rows:
        r.update(
            model=vlm.name,
            reducer=reducer,
            number_format=number_format,
            index_coding=index_coding,
            mtu=mtu,
            dim=vlm.dim,
            seed=seed,
        )
    return rows


def _print(r: dict) -> None:
    status = "" if r["status"] == "ok" else f" [{r['status']}: {r['reason']}]"
    typer.echo(f"{r['file']}: {r['caption']}{status}")
    typer.echo(
        f"  payload {r['payload_bytes']} B in {r['packets']} packets ({r['datagram_bytes']} B "
        f"sent), lost {r['packets_lost']}, concealed vectors {r['vectors_missing']} / indices "
        f"{r['indices_missing']}, batch {r['batch_size']}"
    )
    parts = [f"{name[:-2]} {_ms(r[name])}" for name in _BREAKDOWN]
    typer.echo("  latency ms: " + ", ".join(parts))


def _ms(value: object) -> str:
    return f"{1000 * value:.1f}" if isinstance(value, int | float) and value == value else "-"


def _write(out: Path, rows: list[dict]) -> None:
    import csv
    import json

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".jsonl":
        with out.open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, sort_keys=True, default=str) + "\n")
        return
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
