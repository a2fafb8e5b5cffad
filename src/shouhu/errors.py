"""One family of errors. Each carries a stable ``code`` and the data that explains it.

Every error also inherits the builtin it resembles, so ``except ValueError`` still works.
Leaf module: imports nothing of the project.
"""

from __future__ import annotations

from typing import Any


class ShouhuError(Exception):
    """Base of every error shouhu raises on purpose."""

    code = "shouhu_error"

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **{k: str(v) for k, v in self.data.items()}}


class InvalidInput(ShouhuError, ValueError):
    code = "invalid_input"


class ConfigError(ShouhuError, ValueError):
    code = "config_error"


class UnknownName(ShouhuError, KeyError):
    """An unknown source, entity, engine, ... The message lists the valid choices."""

    code = "unknown_name"

    def __init__(self, kind: str, name: str, choices: list[str] | tuple[str, ...]) -> None:
        valid = ", ".join(sorted(choices)) or "(none)"
        ShouhuError.__init__(self, f"unknown {kind} {name!r}; valid choices: {valid}", kind=kind, name=name)
        self.choices = list(choices)

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.message


class SourceFileError(InvalidInput):
    """A file that cannot be read as the extract it claims to be."""

    code = "source_file_error"


class EncodingError(SourceFileError):
    code = "encoding_error"


class MappingError(ConfigError):
    code = "mapping_error"


class StorageError(ShouhuError, RuntimeError):
    """A backend failed; the message says what was being done and on which table."""

    code = "storage_error"


class MissingExtra(ShouhuError, ImportError):
    code = "missing_extra"

    def __init__(self, feature: str, extra: str) -> None:
        ShouhuError.__init__(
            self, f"{feature} needs the optional extra: pip install 'shouhu[{extra}]'", extra=extra
        )
