import subprocess
import sys

from typer.testing import CliRunner

from collab_infer.cli import app

runner = CliRunner()


class TestCli:
    def test_help_lists_commands(self):
        result = runner.invoke(app, ["--help"])
        assert result.exit_code == 0
        assert "info" in result.output

    def test_info_prints_versions(self):
        result = runner.invoke(app, ["info"])
        assert result.exit_code == 0
        assert "torch" in result.output

    def test_help_does_not_import_heavy_libraries(self):
        code = (
            "import sys; from collab_infer.cli import app; "
            "heavy = [m for m in ('transformers', 'sionna', 'sionna.phy') if m in sys.modules]; "
            "print(','.join(heavy))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == ""
