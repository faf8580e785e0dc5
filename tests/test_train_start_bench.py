"""bench.train_start's variants: each CLI run imports cnnviz from its own folder (an earlier commit's extracted
copy, or the repository), not from wherever the benchmark was started."""
import subprocess
from pathlib import Path

from bench.train_start import cli_run


def test_a_variant_runs_the_cnnviz_of_its_own_folder(tmp_path):
    train = tmp_path / "cnnviz" / "train"
    train.mkdir(parents=True)
    (tmp_path / "cnnviz" / "__init__.py").write_text("")
    (train / "__init__.py").write_text("")
    (train / "__main__.py").write_text("import cnnviz, sys; print(cnnviz.__file__, sys.argv[1:])")
    command, env, cwd = cli_run(tmp_path, "--data", "somewhere")
    out = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=True).stdout.split()
    assert Path(out[0]) == tmp_path / "cnnviz" / "__init__.py"
    assert out[1:] == ["['--data',", "'somewhere']"]
