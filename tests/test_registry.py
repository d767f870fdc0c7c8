import pytest

from collab_infer.registry import Registry


class TestRegistry:
    def test_lazy_reference_is_imported(self):
        reg = Registry("thing")
        reg.add("join", "os.path:join")
        import os.path

        assert reg.get("join") is os.path.join

    def test_duplicate_refused(self):
        reg = Registry("thing")
        reg.add("a", 1)
        with pytest.raises(ValueError, match="already registered"):
            reg.add("a", 2)

    def test_unknown_name_suggests(self):
        reg = Registry("reducer")
        reg.add("kmeans", 1)
        with pytest.raises(ValueError, match="Did you mean 'kmeans'"):
            reg.get("kmean")
