"""shouhu (守护): customer operations for life insurers, brokers and bancassurance partners.

The public API is small on purpose; most users drive shouhu through the ``shouhu`` CLI.
"""

from shouhu.errors import ShouhuError
from shouhu.settings import Settings, get_settings

__version__ = "0.1.0"
__all__ = ["Settings", "ShouhuError", "__version__", "get_settings"]
