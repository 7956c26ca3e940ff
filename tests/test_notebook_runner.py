import os

import nbformat
import pytest

from tools import notebooks


def write_notebook(path, source):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(notebook, path)
    return path


@pytest.mark.parametrize("jobs", ["1", "2"])  # 2: make rehearse runs notebooks side by side
def test_runner_writes_notebook_and_html_and_reports_each(tmp_path, capsys, jobs):
    good = write_notebook(tmp_path / "01_good.ipynb", "print(6 * 7)")
    bad = write_notebook(tmp_path / "02_bad.ipynb", "raise RuntimeError('boom')")
    out = tmp_path / "build"
    assert notebooks.main(["--jobs", jobs, "--out", str(out), str(good), str(bad)]) == 1
    rows = capsys.readouterr().out.splitlines()
    assert rows[1].startswith("01_good.ipynb") and rows[1].endswith("ok")
    assert rows[2].startswith("02_bad.ipynb") and "failed: " in rows[2] and "boom" in rows[2]
    executed = nbformat.read(out / "01_good.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "42\n"
    assert "42" in (out / "01_good.html").read_text()


def test_in_place_refreshes_committed_outputs(tmp_path):
    path = write_notebook(tmp_path / "01_x.ipynb", "print('fresh')")
    assert notebooks.main(["--in-place", str(path)]) == 0
    assert nbformat.read(path, as_version=4).cells[0].outputs[0]["text"] == "fresh\n"


def test_each_kernel_is_stopped_once_its_notebook_is_done(tmp_path):
    path = write_notebook(tmp_path / "01_x.ipynb", "import os\nprint(os.getpid())")
    assert notebooks.main(["--in-place", str(path)]) == 0
    kernel_pid = int(nbformat.read(path, as_version=4).cells[0].outputs[0]["text"])
    with pytest.raises(ProcessLookupError):  # not left running until the runner exits
        os.kill(kernel_pid, 0)


def test_the_kernel_listens_on_private_unix_sockets_not_tcp(tmp_path, capfd):
    source = "from ipykernel.kernelapp import IPKernelApp\nprint(IPKernelApp.instance().transport)"
    path = write_notebook(tmp_path / "01_x.ipynb", source)
    assert notebooks.main(["--in-place", str(path)]) == 0
    assert nbformat.read(path, as_version=4).cells[0].outputs[0]["text"] == "ipc\n"
    assert "without encryption" not in capfd.readouterr().err  # ipykernel's warning about TCP


def test_make_lab_starts_kernels_on_unix_sockets_too():
    from pathlib import Path

    from jupyter_client import KernelManager

    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    recipe = makefile.split("\nlab:", 1)[1].split("\n\n", 1)[0]
    assert "--KernelManager.transport=ipc" in recipe
    assert "ipc" in KernelManager.class_traits()["transport"].values  # an option Jupyter knows
