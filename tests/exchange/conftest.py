"""The two databases of the exchange tests (the Army subsystem's and the centre's), for every
module of the package."""

from tests.exchange.test_exchange import centre_template, centre_url, sides  # noqa: F401
