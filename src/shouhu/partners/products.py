"""The scene products partners may sell (``products.toml``), loaded once per process.
Parsing, pricing and claim rules: ``shouhu.partners.scene``."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shouhu.partners.scene import SceneProduct


@cache
def products() -> dict[str, SceneProduct]:
    from shouhu.partners.scene import load_products

    return load_products()


def product(code: str) -> SceneProduct:
    shelf = products()
    if code not in shelf:
        from shouhu.errors import UnknownName

        raise UnknownName("product", code, sorted(shelf))
    return shelf[code]
