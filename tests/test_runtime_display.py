import torch
from langchain_core.documents import Document

from helpers import set_cpu_threads
from helpers.display import format_table, snippet
from tools.evaluation.pages import page_functions


def test_set_cpu_threads_explicit_and_from_env(monkeypatch):
    before = torch.get_num_threads()
    try:
        assert set_cpu_threads(1) == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv("RERANK_THREADS", "2")
        assert set_cpu_threads() == 2 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_format_table_aligns_columns():
    table = format_table([(1, "a"), (10, "bbb")], ["n", "text"])
    assert table.splitlines() == ["n   text", "--  ----", "1   a", "10  bbb"]


def test_snippet_flattens_and_shortens():
    assert snippet("a\n\nb   c") == "a b c"
    assert snippet("x" * 100, width=10) == "x" * 9 + "…"


def test_ranking_and_side_by_side_tables():  # notebook 01 defines them on its page
    nb01 = page_functions("01", "ranking_table", "side_by_side")
    ranking_table, side_by_side = nb01["ranking_table"], nb01["side_by_side"]
    docs = [Document(page_content=f"text {i}", metadata={"id": i}) for i in range(3)]
    assert ranking_table([(docs[0], 0.123456)]).splitlines()[2].split()[:3] == ["1", "0", "0.1235"]
    lines = side_by_side(docs, [docs[0], docs[2], docs[1]]).splitlines()
    assert not lines[2].endswith("differs") and lines[3].endswith("differs")
