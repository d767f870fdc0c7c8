import json

import numpy as np
import pytest
from PIL import Image

from experiments.jpeg_baseline import encode_image, receive_image, split_packets
from experiments.rows import ResultsStore


def _img(seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))


class TestJpegBaseline:
    @pytest.mark.parametrize("codec", ["jpeg", "webp", "avif", "jxl"])
    def test_roundtrip_and_quality_orders_size(self, codec):
        img = _img()
        small, big = encode_image(img, codec, 5), encode_image(img, codec, 95)
        assert len(small) < len(big)
        out = receive_image(split_packets(big, 100))
        assert out.size == (32, 32) and out.mode == "RGB"

        # higher quality is closer to the source, and the bytes are reproducible
        def err(data):
            dec = np.asarray(receive_image([data]), float)
            return np.abs(dec - np.asarray(img, float)).mean()

        assert err(big) < err(small)
        assert encode_image(img, codec, 95) == big

    @pytest.mark.parametrize("codec", ["avif", "jxl"])
    def test_modern_codecs_sniffed_and_lost(self, codec):
        from experiments.jpeg_baseline import _sniff

        data = encode_image(_img(1), codec, 50)
        assert _sniff(data) == codec
        packets = split_packets(data, 64)
        packets[-1] = None
        assert receive_image(packets) is None
        # a truncated stream is lost, not a crash
        assert receive_image([data[: len(data) // 2]]) is None

    def test_smooth_image_modern_codecs_beat_jpeg_at_low_quality(self):
        from collab_infer import datasets

        img = datasets.load("shapes", split="test", n=1, seed=0)[0].image
        sizes = {c: len(encode_image(img, c, 10)) for c in ("jpeg", "jxl")}
        assert sizes["jxl"] < sizes["jpeg"], sizes

    def test_split_is_exact(self):
        data = bytes(range(250))
        packets = split_packets(data, 100)
        assert [len(p) for p in packets] == [100, 100, 50]
        assert b"".join(packets) == data

    def test_lost_packet_loses_image(self):
        packets = split_packets(encode_image(_img(), "jpeg", 50), 64)
        packets[1] = None
        assert receive_image(packets) is None

    def test_garbage_is_lost_not_a_crash(self):
        assert receive_image([b"not an image"]) is None

    @pytest.mark.parametrize(
        ("args", "match"),
        [
            (("gif", 50), "codec must be one of"),
            (("jpeg", 0), "quality"),
            (("jxl", 101), "quality"),
        ],
    )
    def test_bad_arguments(self, args, match):
        with pytest.raises(ValueError, match=match):
            encode_image(_img(), *args)

    def test_bad_mtu(self):
        with pytest.raises(ValueError, match="mtu"):
            split_packets(b"abc", 0)


class TestResultsStore:
    def test_append_replace_and_reload(self, tmp_path):
        s = ResultsStore(tmp_path)
        s.append([{"row_hash": "a", "x": 1.0, "params": {"p": 1}}])
        s.append([{"row_hash": "b", "x": 2.0, "params": {"p": 2}}])
        s.append([{"row_hash": "a", "x": 3.0, "params": {"p": 1}}])
        t = ResultsStore(tmp_path).table().set_index("row_hash")
        assert t.loc["a", "x"] == 3.0 and t.loc["b", "x"] == 2.0
        assert json.loads(t.loc["b", "params"]) == {"p": 2}
        assert (tmp_path / "results.csv").read_text().count("\n") == 3
        assert not list(tmp_path.glob("*.tmp"))

    def test_row_hash_required(self, tmp_path):
        with pytest.raises(ValueError, match="row_hash"):
            ResultsStore(tmp_path).append([{"x": 1}])

    def test_captions_skip_torn_lines_and_dedupe(self, tmp_path):
        s = ResultsStore(tmp_path)
        s.append_captions([{"row_hash": "a", "image_id": "0", "caption": "x"}])
        s.append_captions([{"row_hash": "a", "image_id": "0", "caption": "y"}])
        with open(tmp_path / "captions.jsonl", "a") as fh:
            fh.write('{"row_hash": "a", "image_id": "1", "capt')  # interrupted write
        caps = s.captions()
        assert caps["caption"].tolist() == ["y"]


class TestLock:
    def test_reentrant_in_process(self, tmp_path):
        s = ResultsStore(tmp_path)
        with s.lock(), ResultsStore(tmp_path).lock():
            s.append([{"row_hash": "a"}])
        with s.lock():  # released again
            pass

    def test_second_process_refused(self, tmp_path):
        import subprocess
        import sys

        from collab_infer.errors import CollabInferError

        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); "
                "fcntl.flock(f.fileno(), fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)",
                str(tmp_path / ".lock"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout.readline().strip() == "held"
            with (
                pytest.raises(CollabInferError, match="another sweep is writing"),
                ResultsStore(tmp_path).lock(),
            ):
                pass
        finally:
            holder.kill()
            holder.wait()


class TestModernCodecRows:
    def test_avif_and_jxl_rows_through_the_runner(self, tmp_path, fake_vlm, fake_samples):
        from experiments.config import load_config
        from experiments.runner import ImageSet, run_sweep

        cfg = load_config(
            {
                "name": "codecs",
                "schemes": [
                    {"label": c, "kind": "image", "codec": c, "qualities": [20, 80]}
                    for c in ("jpeg", "avif", "jxl")
                ],
                "metrics": {"n_boot": 20},
            }
        )
        ims = ImageSet.from_samples(fake_samples)
        res = run_sweep(cfg, tmp_path, model=fake_vlm, images=ims, progress=False)
        assert res.rows_run == 6
        t = ResultsStore(tmp_path).table().set_index(["image_codec", "quality"])
        for c in ("avif", "jxl"):
            expect = np.mean([len(encode_image(im, c, 80)) * 8 for im in ims.images])
            assert t.loc[(c, 80), "bits"] == expect
            assert t.loc[(c, 80), "images_lost"] == 0
            assert t.loc[(c, 20), "bits"] < t.loc[(c, 80), "bits"]
