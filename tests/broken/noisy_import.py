"""A correct connector in a module that prints at import, as some plugins' modules do.

META-FRESH-PROCESS imports this module in its decoder child: the child's answers must not be read from
a channel this print reaches.
"""

import logging
import sys

from conformance.reference import ReferenceConnector

print("noisy_import: plugin banner v1.0")  # noqa: T201 - the point of this module
logging.basicConfig(stream=sys.stdout)
logging.getLogger("noisy_import").warning("configured at import")


class NoisyImport(ReferenceConnector):
    """Correct, in a module that prints and logs to stdout at import."""
