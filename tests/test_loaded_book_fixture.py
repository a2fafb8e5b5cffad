from __future__ import annotations

from shouhu.storage.warehouse import Warehouse
from tests.conftest import LoadedBookFactory


def test_loaded_book_gives_independent_copies(loaded_book: LoadedBookFactory) -> None:
    book, url_a = loaded_book(customers=300, seed=2)
    _, url_b = loaded_book(customers=300, seed=2)
    assert url_a != url_b and (book / "manifest.json").exists()
    with Warehouse(url_a) as wh:
        n = wh.query("SELECT COUNT(*) FROM src_party")[0][0]
        wh.query("DELETE FROM src_party")
    with Warehouse(url_b) as wh:
        assert wh.query("SELECT COUNT(*) FROM src_party")[0][0] == n > 0
